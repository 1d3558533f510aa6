// Entry of each pool worker thread. Node does not run TypeScript by itself and a worker does not inherit loaders
// registered at run time (the CLI registers tsx in its main thread only; vitest runs workers without its own), so
// this thread registers tsx first, then loads the worker module.
import { register } from 'tsx/esm/api';

register();
const { runPoolTask } = await import('./pool-worker.ts');

export default runPoolTask;
