/// <reference types="vite/client" />

declare global {
  interface Window {
    /** Injected into the page by `reyna deploy` and `reyna dev`; absent in a plain `vite` dev server. */
    ENV?: { APP_ID: string };
  }
}

export {};
