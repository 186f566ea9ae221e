import { useState } from 'react';
import { fetchHello } from './api';

const APP_NAME = '{{name}}';
const APP_ID = window.ENV?.APP_ID ?? '(not deployed)';

export function App() {
  const [answer, setAnswer] = useState('');
  const [busy, setBusy] = useState(false);

  async function sayHello() {
    setBusy(true);
    try {
      setAnswer(JSON.stringify(await fetchHello(), null, 2));
    } catch (error) {
      setAnswer(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main>
      <h1>{APP_NAME}</h1>
      <p>
        APP_ID: <code>{APP_ID}</code>
      </p>
      <button type="button" onClick={sayHello} disabled={busy}>
        Call /api/hello
      </button>
      {answer && <pre aria-live="polite">{answer}</pre>}
    </main>
  );
}
