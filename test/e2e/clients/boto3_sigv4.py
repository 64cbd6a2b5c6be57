"""Sends Firehose requests with boto3 under given credentials, as an unmodified producer would.

Called by sigv4-clients.test.ts with one argument, a JSON object:
  endpoint    Sluice's URL
  access_key  access key id to sign with
  secret_key  secret access key to sign with
  region      region to sign for
  stream      delivery stream to put into
  record      base64 of the PutRecord payload

Prints one JSON object: on success {"put_record": {...}, "list": {...}} (ResponseMetadata
removed); when a call fails, {"error": {"code", "message", "status"}} for that call.
"""

import base64
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def main() -> None:
    spec = json.loads(sys.argv[1])
    client = boto3.client(
        "firehose",
        endpoint_url=spec["endpoint"],
        region_name=spec["region"],
        aws_access_key_id=spec["access_key"],
        aws_secret_access_key=spec["secret_key"],
        # One attempt: the test asserts what Sluice answered, not what a retry hid.
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    try:
        out = {
            "put_record": client.put_record(
                DeliveryStreamName=spec["stream"],
                Record={"Data": base64.b64decode(spec["record"])},
            ),
            "list": client.list_delivery_streams(),
        }
    except ClientError as error:
        print(
            json.dumps(
                {
                    "error": {
                        "code": error.response["Error"]["Code"],
                        "message": error.response["Error"]["Message"],
                        "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
                    }
                }
            )
        )
        return
    for response in out.values():
        response.pop("ResponseMetadata", None)
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
