/** The tests' import point; the helper itself lives in `devtools/opensearch/`, shared with the bench. */
export { startOpenSearchServer } from '../../devtools/opensearch/server.js';
export type * from '../../devtools/opensearch/types.js';
