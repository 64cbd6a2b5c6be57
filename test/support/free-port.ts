/** The tests' import point; the helper itself lives in `devtools/`, shared with the bench. */
export { freePort, listenOnLoopback } from '../../devtools/free-port.js';
