#!/usr/bin/env python3
"""`sellerflow serve` driven by the real AWS CLI and boto3, on a real store.

usage: serve_test.py SELLERFLOW SOURCE_DIR [--postgresql]  (the latter beside tests/store/pg_harness.sh)
Starts the server on a free port with two sellers' and Seller Operations' keys, then runs the tour's
change sets through `aws marketplace-catalog` (the CLI on PATH) and boto3, and checks what they print
and return: statuses, errors exactly as the CLI prints them, signatures refused, one seller unable to
see another's requests, idempotent retries, pagination, tags and resource policies (their errors, and a log
that replays to the live digest with them), and a clean stop on SIGTERM.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

try:
    import boto3
except ImportError:
    sys.exit("serve_test.py needs boto3 and the AWS CLI (pip install boto3 awscli) for the python3 on PATH")
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config

FAILURES = []


def check(what, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + what + ("" if cond else ": " + str(detail)))
    if not cond:
        FAILURES.append(what)


KEYS = {
    "seller": ("AKIDSELLER", "seller-secret", "seller:111122223333"),
    "other": ("AKIDOTHER", "other-secret", "seller:444455556666"),
    "ops": ("AKIDOPS", "ops-secret", "operations"),
}


def main():
    binary, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    work = tempfile.mkdtemp(prefix="serve.")
    db = os.path.join(work, "s.db")
    if "--postgresql" in sys.argv[3:]:
        # Beside tests/store/pg_harness.sh's cluster: the same checks on a fresh PostgreSQL database.
        name = "sf_serve_%d" % os.getpid()
        subprocess.run(["psql", os.environ["SELLERFLOW_TEST_PG"], "-qAtc", "CREATE DATABASE " + name],
                       check=True)
        db = "postgresql://sellerflow@/%s?host=%s" % (name, os.environ["PG_HARNESS_DIR"])
    creds = os.path.join(work, "creds.json")
    with open(creds, "w") as f:
        json.dump({"Keys": [{"AccessKeyId": k, "SecretAccessKey": s, "Actor": a} for k, s, a in KEYS.values()]}, f)
    subprocess.run([binary, "import", os.path.join(root, "examples/tour/setup.jsonl"), "--db", db,
                    "--at", "2026-03-02T09:00:00Z"], check=True, capture_output=True)
    server = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--db", db, "--credentials", creds,
                               "--workflows", root + "/workflows", "--rules", root + "/rules"],
                              stderr=open(os.path.join(work, "server.log"), "w"), text=True)
    try:
        # Its log goes to a file: a pipe nobody reads would fill and stop the server.
        m, line = None, ""
        for _ in range(200):
            with open(os.path.join(work, "server.log")) as log:
                line = log.readline()
            m = re.search(r"on http://127\.0\.0\.1:(\d+)", line)
            if m or server.poll() is not None:
                break
            time.sleep(0.05)
        if not m:
            check("the server says where it listens", False, line)
            return
        endpoint = "http://127.0.0.1:" + m.group(1)
        run_checks(endpoint, root, work)
        run_tag_checks(endpoint, root, work, binary, db)
        with open(os.path.join(work, "server.log")) as log:
            access = log.read()
        check("the access log has a line per request, with who acted",
              re.search(r"event=request method=POST path=/StartChangeSet status=200 .*actor=seller:111122223333",
                        access) is not None, access[-600:])
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            rc = server.wait(timeout=20)
            check("SIGTERM stops the server with exit 0", rc == 0, rc)
        except subprocess.TimeoutExpired:
            server.kill()
            check("SIGTERM stops the server", False, "still running after 20 s")
        shutil.rmtree(work)
    print("%d failures" % len(FAILURES))
    sys.exit(1 if FAILURES else 0)


def aws(endpoint, who, *args, cli="aws"):
    key, secret, _ = KEYS[who]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION="us-east-1",
               AWS_MAX_ATTEMPTS="1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    env.pop("AWS_SESSION_TOKEN", None)
    p = subprocess.run([cli, "--endpoint-url", endpoint, "marketplace-catalog"] + list(args), env=env,
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.strip()


def client(endpoint, who, secret=None):
    key, real_secret, _ = KEYS[who]
    return boto3.client("marketplace-catalog", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret or real_secret,
                        config=Config(retries={"max_attempts": 1}))


def signed(endpoint, who, path, body):
    """A request to one of sellerflow's own operations, signed as botocore signs the Catalog API's."""
    key, secret, _ = KEYS[who]
    request = botocore.awsrequest.AWSRequest(method="POST", url=endpoint + path, data=json.dumps(body),
                                             headers={"Content-Type": "application/json"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(key, secret), "aws-marketplace",
                            "us-east-1").add_auth(request)
    import urllib.request
    prepared = request.prepare()
    r = urllib.request.Request(prepared.url, data=prepared.body.encode() if isinstance(prepared.body, str)
                               else prepared.body, headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def run_checks(endpoint, root, work):
    body_file = os.path.join(root, "examples/tour/create_product.json")
    rc, out, err = aws(endpoint, "seller", "start-change-set", "--cli-input-json", "file://" + body_file)
    check("the AWS CLI starts the tour's change set", rc == 0, err)
    cs = json.loads(out)["ChangeSetId"] if rc == 0 else ""
    check("its ARN is the Catalog API's", rc == 0 and json.loads(out)["ChangeSetArn"] ==
          "arn:aws:aws-marketplace:us-east-1:000000000000:AWSMarketplace/ChangeSet/" + cs, out)

    rc, out, err = aws(endpoint, "seller", "describe-change-set", "--catalog", "AWSMarketplace",
                       "--change-set-id", cs)
    d = json.loads(out) if rc == 0 else {}
    check("describe-change-set: SUCCEEDED", d.get("Status") == "SUCCEEDED", out + err)
    product = d["ChangeSet"][0]["Entity"]["Identifier"] if d else ""
    check("each change has Details as a string too", bool(d) and isinstance(d["ChangeSet"][1].get("Details"), str))

    rc, out, err = aws(endpoint, "seller", "describe-change-set", "--catalog", "AWSMarketplace",
                       "--change-set-id", "cs-nope")
    check("an unknown change set: the CLI's exact line and exit 255",
          rc == 255 and err == "An error occurred (ResourceNotFoundException) when calling the DescribeChangeSet "
          "operation: ChangeSet cs-nope not found", (rc, err))

    rc, out, err = aws(endpoint, "other", "describe-change-set", "--catalog", "AWSMarketplace",
                       "--change-set-id", cs)
    check("another seller cannot see it", rc == 255 and "ResourceNotFoundException" in err, (rc, err))
    rc, out, err = aws(endpoint, "other", "list-change-sets", "--catalog", "AWSMarketplace")
    check("nor list it", rc == 0 and json.loads(out)["ChangeSetSummaryList"] == [], out)

    rc, out, err = aws(endpoint, "seller", "describe-entity", "--catalog", "AWSMarketplace", "--entity-id", product)
    e = json.loads(out) if rc == 0 else {}
    check("describe-entity: the product and its title", e.get("DetailsDocument", {}).get("ProductTitle") ==
          "Cloud migration assessment", out + err)

    key, _, _ = KEYS["seller"]
    env_wrong = ["list-entities", "--catalog", "AWSMarketplace", "--entity-type", "ProfessionalServicesProduct"]
    KEYS["wrong"] = (key, "not-the-secret", "")
    rc, out, err = aws(endpoint, "wrong", *env_wrong)
    check("a wrong secret: InvalidSignatureException, nothing runs",
          rc == 255 and err.startswith("An error occurred (InvalidSignatureException) when calling the "
                                       "ListEntities operation: The request signature we calculated"), (rc, err))
    KEYS["stranger"] = ("AKIDSTRANGER", "x", "")
    rc, out, err = aws(endpoint, "stranger", *env_wrong)
    check("an unknown key: UnrecognizedClientException",
          rc == 255 and "(UnrecognizedClientException)" in err, (rc, err))

    # boto3: the Details string form (what older clients send), a retry with the same token, paginators.
    seller = client(endpoint, "seller")
    change = {"ChangeType": "UpdateInformation",
              "Entity": {"Type": "ProfessionalServicesProduct@1.0", "Identifier": product},
              "Details": json.dumps({"ShortDescription": "Two weeks with an architect, and a plan."})}
    first = seller.start_change_set(Catalog="AWSMarketplace", ChangeSet=[change], ClientRequestToken="retry-1")
    again = seller.start_change_set(Catalog="AWSMarketplace", ChangeSet=[change], ClientRequestToken="retry-1")
    check("a retried StartChangeSet returns the same change set", first["ChangeSetId"] == again["ChangeSetId"],
          (first["ChangeSetId"], again["ChangeSetId"]))
    got = seller.describe_change_set(Catalog="AWSMarketplace", ChangeSetId=first["ChangeSetId"])
    check("boto3: the Details form ran", got["Status"] == "SUCCEEDED", got.get("Status"))
    check("boto3: the request id header", len(got["ResponseMetadata"]["RequestId"]) == 36)

    for i in range(3):
        seller.start_change_set(Catalog="AWSMarketplace", ChangeSet=[{
            "ChangeType": "CreateProduct", "Entity": {"Type": "ProfessionalServicesProduct@1.0"},
            "DetailsDocument": {"ProductTitle": "Product %d" % i}}])
    pages = list(seller.get_paginator("list_change_sets").paginate(
        Catalog="AWSMarketplace", PaginationConfig={"PageSize": 2}))
    ids = [s["ChangeSetId"] for p in pages for s in p["ChangeSetSummaryList"]]
    check("the paginator returns every change set once, two to a page",
          len(pages) == 3 and len(ids) == 5 and len(set(ids)) == 5, (len(pages), ids))
    # A page token stays right while new change sets arrive (they sort first: newest first).
    page1 = seller.list_change_sets(Catalog="AWSMarketplace", MaxResults=2)
    seller.start_change_set(Catalog="AWSMarketplace", ChangeSet=[{
        "ChangeType": "CreateProduct", "Entity": {"Type": "ProfessionalServicesProduct@1.0"},
        "DetailsDocument": {"ProductTitle": "Arrived between pages"}}])
    rest, token = [], page1["NextToken"]
    while token:
        page = seller.list_change_sets(Catalog="AWSMarketplace", MaxResults=2, NextToken=token)
        rest += [s["ChangeSetId"] for s in page["ChangeSetSummaryList"]]
        token = page.get("NextToken")
    first_ids = [s["ChangeSetId"] for s in page1["ChangeSetSummaryList"]]
    check("pages after a new arrival hold the older change sets exactly once",
          sorted(first_ids + rest) == sorted(ids) and len(set(first_ids + rest)) == len(ids), (first_ids, rest, ids))
    try:
        seller.list_change_sets(Catalog="AWSMarketplace", NextToken="forged")
        check("a forged NextToken is refused", False, "accepted")
    except seller.exceptions.ValidationException:
        check("a forged NextToken is refused", True)
    try:
        seller.list_change_sets(Catalog="AWSMarketplace", MaxResults=21)
        check("MaxResults above 20 is refused", False, "accepted")
    except seller.exceptions.ValidationException:
        check("MaxResults above 20 is refused", True)
    entities = [e["EntityId"] for p in seller.get_paginator("list_entities").paginate(
        Catalog="AWSMarketplace", EntityType="ProfessionalServicesProduct", PaginationConfig={"PageSize": 1})
        for e in p["EntitySummaryList"]]
    check("list_entities pages through the seller's five products", len(entities) == 5 and len(set(entities)) == 5,
          entities)

    batch = seller.batch_describe_entities(EntityRequestList=[
        {"Catalog": "AWSMarketplace", "EntityId": product}, {"Catalog": "AWSMarketplace", "EntityId": "prod-missing"}])
    check("BatchDescribeEntities: the product, and an error for the missing one",
          list(batch["EntityDetails"]) == [product] and
          batch["Errors"]["prod-missing"]["ErrorCode"] == "ResourceNotFoundException", batch)
    newest = seller.list_entities(Catalog="AWSMarketplace", EntityType="ProfessionalServicesProduct",
                                  Sort={"SortBy": "EntityId", "SortOrder": "DESCENDING"})["EntitySummaryList"]
    check("ListEntities sorts by EntityId, descending",
          [e["EntityId"] for e in newest] == sorted(entities, reverse=True), newest)

    try:
        seller.start_change_set(Catalog="AWSMarketplace", ChangeSet=[{
            "ChangeType": "CreatProduct", "Entity": {"Type": "ProfessionalServicesProduct@1.0"},
            "DetailsDocument": {"ProductTitle": "x"}}])
        check("an unknown change type is refused", False, "accepted")
    except seller.exceptions.ValidationException as ex:
        check("an unknown change type is a ValidationException naming the field",
              "ChangeSet[0].ChangeType" in str(ex), str(ex))

    # The body never chooses who acts or when: an Actor, At or op in it is refused.
    status, answer = signed(endpoint, "seller", "/StartChangeSet", {
        "Catalog": "AWSMarketplace", "Actor": "operations", "At": "9999-12-31T23:59:59Z", "op": "tick",
        "ChangeSet": [{"ChangeType": "CreateProduct", "Entity": {"Type": "ProfessionalServicesProduct@1.0"},
                       "DetailsDocument": {"ProductTitle": "Planted"}}]})
    check("a body naming its own actor, time or op is refused, each field named",
          status == 422 and all(f in answer.get("message", "") for f in ("Actor", "At", "op")), (status, answer))
    status, answer = signed(endpoint, "seller", "/sellerflow/Review", {"ChangeSetId": first["ChangeSetId"],
                                                                       "Decision": "approve"})
    check("a seller's review is not Seller Operations'", status != 200, (status, answer))
    import urllib.request
    with urllib.request.urlopen(endpoint + "/ping", timeout=10) as r:
        check("GET /ping needs no signature", r.status == 200 and r.read() == b"ok\n")
    with urllib.request.urlopen(endpoint + "/metrics", timeout=10) as r:
        metrics = r.read().decode()
    check("/metrics counts StartChangeSet answers by status",
          re.search(r'^sellerflow_requests_total\{operation="StartChangeSet",status="200"\} [1-9]', metrics, re.M)
          is not None, metrics[:400])
    check("/metrics has the latency histogram and the commit group sizes",
          "sellerflow_request_seconds_bucket{le=\"+Inf\"}" in metrics and
          "sellerflow_commit_group_size_count" in metrics and "sellerflow_writer_queue_depth 0" in metrics)
    # Debian's AWS CLI v2.9 knows only the Details string form, exits 254 on errors, and says how many
    # retries it made (none: AWS_MAX_ATTEMPTS=1).
    if not os.path.exists("/usr/bin/aws"):
        check("Debian's AWS CLI v2 is installed (make test installs the awscli package)", False)
    else:
        v2 = "/usr/bin/aws"
        changes = json.dumps([{"ChangeType": "UpdateInformation",
                               "Entity": {"Type": "ProfessionalServicesProduct@1.0", "Identifier": product},
                               "Details": json.dumps({"LongDescription": "Inventory, mapping, and a plan."})}])
        rc, out, err = aws(endpoint, "seller", "start-change-set", "--catalog", "AWSMarketplace",
                           "--change-set", changes, cli=v2)
        check("CLI v2.9: start-change-set with Details", rc == 0, err)
        v2cs = json.loads(out)["ChangeSetId"] if rc == 0 else "none"
        rc, out, err = aws(endpoint, "seller", "describe-change-set", "--catalog", "AWSMarketplace",
                           "--change-set-id", v2cs, cli=v2)
        got = json.loads(out) if rc == 0 else {}
        check("CLI v2.9: describe-change-set, SUCCEEDED, Details back as a string",
              got.get("Status") == "SUCCEEDED" and
              json.loads(got["ChangeSet"][0]["Details"]).get("LongDescription") == "Inventory, mapping, and a plan.",
              out + err)
        rc, out, err = aws(endpoint, "seller", "describe-entity", "--catalog", "AWSMarketplace", "--entity-id",
                           "prod-missing", cli=v2)
        check("CLI v2.9: the error line, exit 254",
              rc == 254 and err == "An error occurred (ResourceNotFoundException) when calling the DescribeEntity "
              "operation (reached max retries: 0): Entity prod-missing not found", (rc, err))

    status, answer = signed(endpoint, "ops", "/sellerflow/Nope", {})
    check("an unknown path is a JSON error", status == 404 and "message" in answer, (status, answer))


ARN = "arn:aws:aws-marketplace:us-east-1:000000000000:AWSMarketplace/"


def cli_error(op, message):
    return "An error occurred (%s) when calling the %s operation: %s" % (op[0], op[1], message)


def run_tag_checks(endpoint, root, work, binary, db):
    """ChangeSetTags, EntityTags, Tag/Untag/ListTagsForResource and the resource policies, through the CLI and
    boto3, and the log of them replayed to the same digest."""
    changes = json.dumps([{"ChangeType": "CreateProduct", "ChangeName": "Create",
                           "Entity": {"Type": "ProfessionalServicesProduct@1.0"},
                           "EntityTags": [{"Key": "owner", "Value": "team-a"}],
                           "DetailsDocument": {"ProductTitle": "Tagged product"}}])
    rc, out, err = aws(endpoint, "seller", "start-change-set", "--catalog", "AWSMarketplace", "--change-set", changes,
                       "--change-set-tags", "Key=team,Value=alpha", "Key=cost-center,Value=42")
    check("start-change-set with ChangeSetTags and EntityTags", rc == 0, err)
    cs = json.loads(out)["ChangeSetId"] if rc == 0 else "cs-none"
    cs_arn = ARN + "ChangeSet/" + cs
    rc, out, err = aws(endpoint, "seller", "list-tags-for-resource", "--resource-arn", cs_arn)
    check("list-tags-for-resource: the change set's tags, by key",
          rc == 0 and json.loads(out) == {"ResourceArn": cs_arn, "Tags": [{"Key": "cost-center", "Value": "42"},
                                                                          {"Key": "team", "Value": "alpha"}]},
          out + err)
    rc, out, err = aws(endpoint, "seller", "tag-resource", "--resource-arn", cs_arn, "--tags", "Key=team,Value=beta",
                       "Key=env,Value=")
    check("tag-resource replaces a value and adds an empty one", rc == 0 and out.strip() == "", out + err)
    rc, out, err = aws(endpoint, "seller", "untag-resource", "--resource-arn", cs_arn, "--tag-keys", "cost-center",
                       "never-set")
    check("untag-resource (a key never set is no error)", rc == 0, err)
    rc, out, err = aws(endpoint, "seller", "list-tags-for-resource", "--resource-arn", cs_arn)
    check("the change set's tags after both",
          rc == 0 and json.loads(out)["Tags"] == [{"Key": "env", "Value": ""}, {"Key": "team", "Value": "beta"}],
          out + err)

    seller = client(endpoint, "seller")
    described = seller.describe_change_set(Catalog="AWSMarketplace", ChangeSetId=cs)
    product = described["ChangeSet"][0]["Entity"]["Identifier"]
    entity_arn = ARN + "ProfessionalServicesProduct/" + product
    tags = seller.list_tags_for_resource(ResourceArn=entity_arn)
    check("EntityTags tag the product the change created",
          described["Status"] == "SUCCEEDED" and tags["Tags"] == [{"Key": "owner", "Value": "team-a"}], tags)
    seller.tag_resource(ResourceArn=entity_arn, Tags=[{"Key": "Stage", "Value": "beta launch"}])
    tags = seller.list_tags_for_resource(ResourceArn=entity_arn)["Tags"]
    check("boto3: tag_resource on the entity, listed by key (bytes: upper case first)",
          tags == [{"Key": "Stage", "Value": "beta launch"}, {"Key": "owner", "Value": "team-a"}], tags)
    ops = client(endpoint, "ops")
    check("Seller Operations reads another account's tags",
          ops.list_tags_for_resource(ResourceArn=entity_arn)["Tags"] == tags)

    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "AWS": "arn:aws:iam::444455556666:root"}, "Action": ["aws-marketplace:DescribeEntity"],
        "Resource": entity_arn}]})
    rc, out, err = aws(endpoint, "seller", "put-resource-policy", "--resource-arn", entity_arn, "--policy", policy)
    check("put-resource-policy", rc == 0, err)
    rc, out, err = aws(endpoint, "seller", "get-resource-policy", "--resource-arn", entity_arn)
    check("get-resource-policy: the policy as put", rc == 0 and json.loads(out) == {"Policy": policy}, out + err)
    rc, out, err = aws(endpoint, "seller", "delete-resource-policy", "--resource-arn", entity_arn)
    check("delete-resource-policy", rc == 0, err)
    rc, out, err = aws(endpoint, "seller", "get-resource-policy", "--resource-arn", entity_arn)
    check("a deleted policy: the CLI's exact line",
          rc == 255 and err == cli_error(("ResourceNotFoundException", "GetResourcePolicy"),
                                         "Resource %s has no resource policy" % entity_arn), (rc, err))
    rc, out, err = aws(endpoint, "seller", "delete-resource-policy", "--resource-arn", entity_arn)
    check("deleting it again: not found",
          rc == 255 and err == cli_error(("ResourceNotFoundException", "DeleteResourcePolicy"),
                                         "Resource %s has no resource policy" % entity_arn), (rc, err))
    seller.put_resource_policy(ResourceArn=entity_arn, Policy='{"Version": "2012-10-17", "Statement": []}')
    check("boto3: put_resource_policy, get_resource_policy",
          seller.get_resource_policy(ResourceArn=entity_arn)["Policy"] == '{"Version": "2012-10-17", "Statement": []}')

    # Errors, exactly as the CLI prints them.
    missing = ARN + "ChangeSet/cs-nope"
    rc, out, err = aws(endpoint, "seller", "list-tags-for-resource", "--resource-arn", missing)
    check("an unknown ARN: the CLI's exact line",
          rc == 255 and err == cli_error(("ResourceNotFoundException", "ListTagsForResource"),
                                         "Resource %s not found" % missing), (rc, err))
    rc, out, err = aws(endpoint, "seller", "tag-resource", "--resource-arn", ARN + "Offer/" + product, "--tags",
                       "Key=a,Value=b")
    check("an entity ARN naming another type is not found",
          rc == 255 and err == cli_error(("ResourceNotFoundException", "TagResource"),
                                         "Resource %s not found" % (ARN + "Offer/" + product)), (rc, err))
    rc, out, err = aws(endpoint, "seller", "tag-resource", "--resource-arn", cs_arn, "--tags",
                       "Key=%s,Value=b" % ("k" * 129))
    check("a key of 129 characters: ValidationException with the field path",
          rc == 255 and err == cli_error(("ValidationException", "TagResource"),
                                         "1 problem with the request; Tags[0].Key: has 129 characters; at most 128 "
                                         "are allowed"), (rc, err))
    rc, out, err = aws(endpoint, "seller", "tag-resource", "--resource-arn", cs_arn, "--tags", "Key=a,Value=b",
                       "Key=a,Value=c", "Key=b%,Value=c")
    check("a key twice and a key with % in it: both named",
          rc == 255 and err == cli_error(("ValidationException", "TagResource"),
                                         "2 problems with the request; Tags[1].Key: is 'a' again; each key may be "
                                         "given once; Tags[2].Key: must hold only letters, numbers, spaces and "
                                         "_.:/=+-@"), (rc, err))
    rc, out, err = aws(endpoint, "seller", "tag-resource", "--resource-arn", cs_arn, "--tags", "[]")
    check("an empty Tags list: the CLI refuses it before sending",
          rc == 255 and "Invalid length for parameter Tags, value: 0, valid min length: 1" in err, (rc, err))
    status, answer = signed(endpoint, "seller", "/TagResource", {"ResourceArn": cs_arn, "Tags": []})
    check("an empty Tags list sent anyway: 422 from the server",
          status == 422 and answer.get("Message") == "1 problem with the request; Tags: has 0 items; at least 1 is "
          "required", (status, answer))
    status, answer = signed(endpoint, "seller", "/TagResource", {"ResourceArn": cs_arn, "Actor": "operations",
                                                                 "Tags": [{"Key": "a", "Value": "b"}]})
    check("a tag body naming its actor is refused", status == 422 and "Actor" in answer.get("Message", ""),
          (status, answer))
    rc, out, err = aws(endpoint, "seller", "start-change-set", "--catalog", "AWSMarketplace", "--change-set", changes,
                       "--change-set-tags", "Key=team,Value=" + "v" * 257)
    check("ChangeSetTags: a value of 257 characters is refused, nothing started",
          rc == 255 and err == cli_error(("ValidationException", "StartChangeSet"),
                                         "1 problem with the request; ChangeSetTags[0].Value: has 257 characters; at "
                                         "most 256 are allowed"), (rc, err))
    rc, out, err = aws(endpoint, "other", "list-tags-for-resource", "--resource-arn", cs_arn)
    check("another seller: not found, as describe-change-set answers",
          rc == 255 and err == cli_error(("ResourceNotFoundException", "ListTagsForResource"),
                                         "Resource %s not found" % cs_arn), (rc, err))
    rc, out, err = aws(endpoint, "other", "tag-resource", "--resource-arn", entity_arn, "--tags", "Key=a,Value=b")
    check("another seller cannot tag the entity",
          rc == 255 and err == cli_error(("ResourceNotFoundException", "TagResource"),
                                         "Resource %s not found" % entity_arn), (rc, err))
    rc, out, err = aws(endpoint, "other", "get-resource-policy", "--resource-arn", entity_arn)
    check("nor read its policy", rc == 255 and "(ResourceNotFoundException)" in err and "not found" in err, (rc, err))
    rc, out, err = aws(endpoint, "seller", "put-resource-policy", "--resource-arn", entity_arn, "--policy", "[1, 2]")
    check("a policy that is not a JSON object",
          rc == 255 and err == cli_error(("ValidationException", "PutResourcePolicy"),
                                         "1 problem with the request; Policy: must be a JSON object's text, not "
                                         "another JSON value"), (rc, err))
    rc, out, err = aws(endpoint, "seller", "put-resource-policy", "--resource-arn", cs_arn, "--policy", "{}")
    check("a change set has no resource policy",
          rc == 255 and err == cli_error(("ValidationException", "PutResourcePolicy"),
                                         "ResourceArn: %s is a change set; resource policies are for entities"
                                         % cs_arn), (rc, err))
    check("the other seller's tags never landed", seller.list_tags_for_resource(ResourceArn=entity_arn)["Tags"] ==
          tags)

    # The writes are commands: the exported log replays to the live digest, tags and policy included.
    def sellerflow(*args):
        return subprocess.run([binary] + list(args), cwd=root, capture_output=True, text=True, timeout=120)
    exported = sellerflow("log", "export", "--db", db)
    log = os.path.join(work, "tags-log.jsonl")
    with open(log, "w") as f:
        f.write(exported.stdout)
    check("the log holds the tag and policy commands",
          all('"op":"%s"' % op in exported.stdout for op in ("tag-resource", "untag-resource", "put-resource-policy",
                                                              "delete-resource-policy")) and
          '"ChangeSetTags":[{"Key":"team","Value":"alpha"}' in exported.stdout, exported.stderr)
    live = sellerflow("digest", "--db", db)
    replayed = sellerflow("replay", log, "--db", os.path.join(work, "replayed.db"), "--output", "json")
    try:
        replayed_digest = json.loads(replayed.stdout)["Digest"]
    except (ValueError, KeyError):
        replayed_digest = replayed.stdout + replayed.stderr
    check("the log replays to the live digest", live.returncode == 0 and replayed_digest == live.stdout.strip(),
          (live.stdout, replayed_digest))


if __name__ == "__main__":
    main()
