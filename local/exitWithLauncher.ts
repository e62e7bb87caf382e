/**
 * Loaded (`--import`) into each child of `npm start`: the launcher holds the write end of the child's stdin,
 * and when the launcher is gone, even killed with SIGKILL, the pipe ends. The child then stops as if the
 * launcher had sent SIGTERM, instead of living on and holding its port for the next `npm start`.
 */
process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.on('error', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.resume();
// Waiting for the end must not keep a child alive that is otherwise done.
(process.stdin as unknown as { unref?(): void }).unref?.();
