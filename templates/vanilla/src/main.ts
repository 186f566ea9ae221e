import { fetchHello } from './api';
import './style.css';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`index.html has no #${id} element`);
  return found as T;
}

const appId = element('app-id');
const button = element<HTMLButtonElement>('hello');
const answer = element<HTMLPreElement>('answer');

appId.textContent = window.ENV?.APP_ID ?? '(not deployed)';

button.addEventListener('click', async () => {
  button.disabled = true;
  try {
    answer.textContent = JSON.stringify(await fetchHello(), null, 2);
  } catch (error) {
    answer.textContent = error instanceof Error ? error.message : String(error);
  } finally {
    answer.hidden = false;
    button.disabled = false;
  }
});
