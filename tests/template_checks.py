#!/usr/bin/env python3
"""What the template must keep as it grows (issue 28), checked on its text and on SAM's own
transform of it:

- every function has its errors-and-throttles alarm, and the composite `FunctionsAlarm` holds
  each of them (infra/alarms.py writes them; its section must be up to date);
- every dead-letter queue (a queue's redrive target, a function's `DeadLetterQueue`) has an
  alarm on its messages;
- tracing follows the `Tracing` parameter, off (`PassThrough`) by default;
- SAM's transform stays under CloudFormation's 500 resources per stack.

Run with the SAM CLI's Python (it brings samtranslator): .tools/venv/bin/python tests/template_checks.py
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 500


class Tags(yaml.SafeLoader):
    """Reads CloudFormation's short forms (!Ref, !Sub ...) as {"Ref": ...}-like mappings."""


def _tag(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


Tags.add_multi_constructor("!", _tag)


def fail(message):
    sys.exit(f"template check failed: {message}")


def main():
    fresh = subprocess.run([sys.executable, str(ROOT / "infra/alarms.py"), "--check"])
    if fresh.returncode != 0:
        fail("the generated alarms are out of date")
    text = (ROOT / "template.yaml").read_text()
    template = yaml.load(text, Loader=Tags)
    resources = template["Resources"]

    functions = [k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"]
    rule = resources["FunctionsAlarm"]["Properties"]["AlarmRule"]["Fn::Sub"]
    for function in functions:
        alarm = resources.get(f"{function}Alarm")
        if alarm is None or alarm["Type"] != "AWS::CloudWatch::Alarm":
            fail(f"{function} has no errors alarm")
        dimensions = str(alarm["Properties"]["Metrics"])
        if f"'Ref': '{function}'" not in dimensions:
            fail(f"{function}Alarm does not watch {function}")
        if f"ALARM(${{{function}Alarm}})" not in rule:
            fail(f"{function}Alarm is not in FunctionsAlarm")

    dead_letters = set()
    for key, value in resources.items():
        props = value.get("Properties", {})
        redrive = props.get("RedrivePolicy", {}).get("deadLetterTargetArn")
        target = props.get("DeadLetterQueue", {}).get("TargetArn")
        for arn in (redrive, target):
            if arn:
                dead_letters.add(arn["Fn::GetAtt"][0])
    if not dead_letters:
        fail("no dead-letter queue found")
    for queue in dead_letters:
        watched = any(
            v["Type"] == "AWS::CloudWatch::Alarm"
            and {"Fn::GetAtt": [queue, "QueueName"]} in [d["Value"] for d in v["Properties"].get("Dimensions", [])]
            for v in resources.values()
        )
        if not watched:
            fail(f"the dead-letter queue {queue} has no alarm")

    tracing = template["Globals"]["Function"].get("Tracing")
    parameter = template["Parameters"].get("Tracing", {})
    if tracing != {"Ref": "Tracing"} or parameter.get("Default") != "PassThrough":
        fail("tracing must follow the Tracing parameter, PassThrough by default")

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    class Policies:
        def load(self):
            return {}

        def get(self, name):
            return f"arn:aws:iam::aws:policy/{name}"

    # SAM's transform needs an S3 CodeUri; the build rewrites `.` to one the same way.
    document = yaml.load(re.sub(r"CodeUri: \.", "CodeUri: s3://bucket/key", text), Loader=Tags)
    count = len(transform(document, {}, Policies())["Resources"])
    if count >= LIMIT:
        fail(f"SAM's transform makes {count} resources, CloudFormation takes at most {LIMIT - 1}")
    print(f"template: {len(functions)} functions, each alarmed in FunctionsAlarm; "
          f"{len(dead_letters)} dead-letter queues alarmed; tracing by parameter; {count} resources after SAM's transform")


if __name__ == "__main__":
    main()
