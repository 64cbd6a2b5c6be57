/** The tests' import point; the helper itself lives in `devtools/`, shared with the bench. */
export {
  startS3Server,
  type BucketUsage,
  type S3Server,
  type S3ServerOptions,
  type StoredObject,
} from '../../devtools/s3-server.js';
