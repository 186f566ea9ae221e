export interface Hello {
  message: string;
  appId: string;
  path: string;
}

/** Calls the Worker's `/api/hello`. */
export async function fetchHello(): Promise<Hello> {
  const res = await fetch('/api/hello', { headers: { accept: 'application/json' } });
  // Plain `vite` serves index.html for every path: say so instead of failing to parse HTML.
  if (!res.headers.get('content-type')?.includes('application/json')) {
    throw new Error('No Worker answered /api/hello. Run `reyna dev` to serve the Worker too.');
  }
  if (!res.ok) throw new Error(`/api/hello answered ${res.status}`);
  return (await res.json()) as Hello;
}
