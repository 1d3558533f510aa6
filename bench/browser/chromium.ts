// How this project drives Chromium (tests and the bench): where it is, the flags it needs, how files are served to it.

/** Debian's Chromium, or SHIPSHAPE_CHROMIUM. Never a downloaded browser build (see PLATFORM-NOTES). */
export const CHROMIUM_PATH = process.env.SHIPSHAPE_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Flags for headless runs as root on a machine with no network: without the background-networking ones Chromium's
 * connections are refused, many at a time. Add `--enable-unsafe-webgpu` for a (SwiftShader) WebGPU adapter.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-gpu-sandbox',
];

/** Content types for the pages, scripts, WASM and bundle files served to Chromium from 127.0.0.1. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.jsonl': 'application/jsonl',
  '.txt': 'text/plain; charset=utf-8',
  '.onnx': 'application/octet-stream',
};
