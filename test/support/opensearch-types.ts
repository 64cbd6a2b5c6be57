/** The OpenSearch test server's public types; they live in `devtools/opensearch/types.ts`. */
export type * from '../../devtools/opensearch/types.js';
