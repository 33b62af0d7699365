'use strict';
// The script of each tesseract.js worker thread: tesseract.js's own, run at a lower CPU
// priority. OCR is background work that may take whole cores for minutes; requests must not
// wait behind it. Linux lets a thread's id stand for a process in setpriority, so this lowers
// this thread only (elsewhere it throws, and the thread keeps the process's priority).
const fs = require('node:fs');
const os = require('node:os');

// OCR_NICENESS in engine.ts (a worker thread cannot import the TypeScript sources): added to
// the server's nice value, 19 at most.
const NICENESS = 10;
try {
  const threadId = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
  os.setPriority(threadId, Math.min(19, os.getPriority(threadId) + NICENESS));
} catch {
  // Not Linux, or not allowed: run at the process's priority.
}
require('tesseract.js/src/worker-script/node/index.js');
