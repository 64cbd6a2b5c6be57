"""Drives Sluice through boto3, as an unmodified Python producer would.

Called by third-party-clients.test.ts with one argument, a JSON object:
  endpoint   Sluice's URL
  stream     delivery stream name to create
  missing    a stream name that does not exist
  bucket_arn destination bucket ARN
  record     base64 of the PutRecord payload
  batch      list of base64 PutRecordBatch payloads

Prints one JSON object with each call's response (ResponseMetadata removed) and, under
"missing", the error code boto3 raised for DescribeDeliveryStream on the missing stream.
"""

import base64
import json
import sys

import boto3
from botocore.config import Config


def main() -> None:
    spec = json.loads(sys.argv[1])
    client = boto3.client(
        "firehose",
        endpoint_url=spec["endpoint"],
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        # One attempt: the test asserts what Sluice answered, not what a retry hid.
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    stream = spec["stream"]
    out = {
        "create": client.create_delivery_stream(
            DeliveryStreamName=stream,
            DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::000000000000:role/firehose",
                "BucketARN": spec["bucket_arn"],
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1},
            },
        ),
        "describe": client.describe_delivery_stream(DeliveryStreamName=stream),
        "put_record": client.put_record(
            DeliveryStreamName=stream,
            Record={"Data": base64.b64decode(spec["record"])},
        ),
        "put_record_batch": client.put_record_batch(
            DeliveryStreamName=stream,
            Records=[{"Data": base64.b64decode(data)} for data in spec["batch"]],
        ),
        "list": client.list_delivery_streams(),
    }
    for response in out.values():
        response.pop("ResponseMetadata", None)
    try:
        client.describe_delivery_stream(DeliveryStreamName=spec["missing"])
        out["missing"] = None
    except client.exceptions.ResourceNotFoundException as error:
        out["missing"] = error.response["Error"]["Code"]
    # Timestamps come back as datetime objects; str() keeps them readable in the output.
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
