// The demo page's script: the same runtime and bundle in the browser (WebGPU, else WASM) next to the edge API.
import {
  createPredictor,
  isShipshapeError,
  loadBundle,
  type BackendReport,
  type Predictor,
} from '../../runtime/browser.ts';

/** Where build-web.ts puts the bundle the page loads. */
const BUNDLE_URL = '/models/news-bag/';
/** Wait this long after the last keystroke before classifying. */
const TYPING_DEBOUNCE_MS = 120;

interface Shown {
  readonly label: string;
  readonly scores: Readonly<Record<string, number>>;
}

interface EdgeAnswer {
  readonly model: { readonly name: string; readonly version: string };
  readonly backend: string;
  readonly predictions: readonly Shown[];
}

function element<T extends HTMLElement = HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (found === null) throw new Error(`demo page: ${selector} is missing`);
  return found;
}

const text = element<HTMLTextAreaElement>('#text');
const askButton = element<HTMLButtonElement>('#ask');
const tokenInput = element<HTMLInputElement>('#token');

function side(name: 'browser' | 'edge') {
  const field = (key: string) => element(`[data-testid="${name}-${key}"]`);
  return {
    label: field('label'),
    scores: field('scores'),
    backend: field('backend'),
    latency: field('latency'),
    model: field('model'),
    note: field('note'),
  };
}
const browserSide = side('browser');
const edgeSide = side('edge');
const browserStartup = element('[data-testid="browser-startup"]');

function showPrediction(target: ReturnType<typeof side>, shown: Shown): void {
  target.label.textContent = shown.label;
  const rows = Object.entries(shown.scores).map(([label, score]) => {
    const row = document.createElement('li');
    if (label === shown.label) row.className = 'top';
    const name = document.createElement('span');
    name.textContent = label;
    const bar = document.createElement('div');
    bar.className = 'bar';
    const fill = document.createElement('span');
    fill.style.width = `${(score * 100).toFixed(1)}%`;
    bar.append(fill);
    const value = document.createElement('span');
    value.className = 'value';
    value.textContent = score.toFixed(3);
    row.append(name, bar, value);
    return row;
  });
  target.scores.replaceChildren(...rows);
}

function showNote(target: ReturnType<typeof side>, message: string, isError = false): void {
  target.note.textContent = message;
  target.note.classList.toggle('error', isError);
}

function describeBackend(report: BackendReport): string {
  return report.fallbackReason === undefined
    ? report.backend
    : `${report.backend} (${report.fallbackReason})`;
}

function describeError(error: unknown): string {
  if (isShipshapeError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

let predictor: Predictor | undefined;
let generation = 0;

async function classifyHere(): Promise<void> {
  if (predictor === undefined) return;
  const mine = ++generation;
  const started = performance.now();
  try {
    const prediction = await predictor.predict(text.value);
    if (mine !== generation) return;
    showPrediction(browserSide, prediction);
    browserSide.latency.textContent = `${(performance.now() - started).toFixed(1)} ms`;
    browserSide.backend.textContent = describeBackend(predictor.backend);
    showNote(browserSide, skippedNote(predictor.backend));
  } catch (error) {
    if (mine === generation) showNote(browserSide, describeError(error), true);
  }
}

function skippedNote(report: BackendReport): string {
  return report.skipped.map((skip) => `${skip.backend} skipped: ${skip.reason}`).join(' · ');
}

async function startBrowserModel(): Promise<void> {
  const started = performance.now();
  try {
    const bundle = await loadBundle(BUNDLE_URL, { verify: 'serving' });
    predictor = await createPredictor(bundle);
    const { name, version } = bundle.manifest;
    browserSide.model.textContent = `${name} ${version}`;
    browserSide.backend.textContent = describeBackend(predictor.backend);
    browserStartup.textContent = `${(performance.now() - started).toFixed(0)} ms (bundle + session)`;
    showNote(browserSide, skippedNote(predictor.backend));
    document.body.dataset.browserReady = 'true';
    await classifyHere();
  } catch (error) {
    browserSide.backend.textContent = 'unavailable';
    showNote(browserSide, `The model did not start here: ${describeError(error)}`, true);
  }
}

async function askEdge(): Promise<void> {
  askButton.disabled = true;
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  const token = tokenInput.value.trim();
  if (token !== '') headers.Authorization = `Bearer ${token}`;
  const started = performance.now();
  try {
    const response = await fetch('/v1/predict', {
      method: 'POST',
      headers,
      body: JSON.stringify({ text: text.value }),
    });
    const elapsed = performance.now() - started;
    const body = (await response.json()) as EdgeAnswer | { error: { code: string; message: string } };
    if ('error' in body) {
      edgeSide.label.textContent = '–';
      edgeSide.scores.replaceChildren();
      showNote(edgeSide, `${response.status} ${body.error.code}: ${body.error.message}`, true);
      return;
    }
    const [prediction] = body.predictions;
    if (prediction === undefined) throw new Error('the edge answered no prediction');
    showPrediction(edgeSide, prediction);
    edgeSide.backend.textContent = body.backend;
    edgeSide.latency.textContent = `${elapsed.toFixed(1)} ms round trip`;
    edgeSide.model.textContent = `${body.model.name} ${body.model.version}`;
    showNote(edgeSide, '');
  } catch (error) {
    showNote(edgeSide, `The edge did not answer: ${describeError(error)}`, true);
  } finally {
    askButton.disabled = false;
  }
}

let typingTimer: ReturnType<typeof setTimeout> | undefined;
text.addEventListener('input', () => {
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => void classifyHere(), TYPING_DEBOUNCE_MS);
});
for (const example of document.querySelectorAll<HTMLButtonElement>('button.example')) {
  example.addEventListener('click', () => {
    text.value = example.textContent ?? '';
    void classifyHere();
  });
}
askButton.addEventListener('click', () => void askEdge());

void startBrowserModel();
