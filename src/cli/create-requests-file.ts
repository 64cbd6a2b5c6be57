import { readFile } from 'node:fs/promises';
import { UsageError } from './cli-error.js';

/**
 * The file of `sluice streams create --file`: one CreateDeliveryStream request, or a streams
 * file `{"DeliveryStreams": [<request>, …]}` as SLUICE_CONFIG takes. Only its shape is checked
 * here; the server validates each request as CreateDeliveryStream always does.
 */

/** One request of the file, and where it is in it (for messages). */
export interface CreateRequest {
  readonly name: string;
  readonly label: string;
  readonly request: Record<string, unknown>;
}

/**
 * The requests of `path`, in file order.
 *
 * @throws UsageError when the file cannot be read, is not JSON, or is neither shape.
 */
export async function readCreateRequests(path: string): Promise<CreateRequest[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --file ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`--file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(json)) {
    throw new UsageError(
      `--file ${path} must hold a JSON object: one CreateDeliveryStream request, or {"DeliveryStreams": [...]}`,
    );
  }
  const many = Object.hasOwn(json, 'DeliveryStreams');
  const entries: unknown[] = many
    ? Array.isArray(json.DeliveryStreams)
      ? json.DeliveryStreams
      : []
    : [json];
  if (many && entries.length === 0) {
    throw new UsageError(
      `--file ${path}: "DeliveryStreams" must be a non-empty list of CreateDeliveryStream requests`,
    );
  }
  return entries.map((entry, index) => {
    const label = many ? `DeliveryStreams[${index}]` : 'the request';
    if (!isObject(entry) || typeof entry.DeliveryStreamName !== 'string') {
      throw new UsageError(
        `--file ${path}: ${label} must be a CreateDeliveryStream request with a "DeliveryStreamName" string`,
      );
    }
    return { name: entry.DeliveryStreamName, label, request: entry };
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
