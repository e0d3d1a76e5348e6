#!/usr/bin/env python3
"""Signed calls to `sellerflow serve`'s API, for the console test (and its browser script).

usage: api.py ENDPOINT ACCESS_KEY SECRET METHOD PATH [BODY_JSON]
Prints the status and the JSON answer as one JSON line: {"status": 200, "body": {...}}.
The request is signed with SigV4 by botocore, as the AWS CLI and boto3 sign theirs.
"""
import json
import sys
import urllib.error
import urllib.request

import botocore.auth
import botocore.awsrequest
import botocore.credentials


def call(endpoint, key, secret, method, path, body=None):
    data = None if body is None else json.dumps(body)
    request = botocore.awsrequest.AWSRequest(method=method, url=endpoint + path, data=data,
                                             headers={"Content-Type": "application/json"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(key, secret), "aws-marketplace",
                            "us-east-1").add_auth(request)
    p = request.prepare()
    payload = p.body.encode() if isinstance(p.body, str) else p.body
    r = urllib.request.Request(p.url, data=payload, headers=dict(p.headers), method=method)
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


if __name__ == "__main__":
    endpoint, key, secret, method, path = sys.argv[1:6]
    body = json.loads(sys.argv[6]) if len(sys.argv) > 6 else None
    status, answer = call(endpoint, key, secret, method, path, body)
    print(json.dumps({"status": status, "body": answer}))
