"""The smallest Lambda function: greets and echoes the event it was invoked with.

Handler: app.handler (runtime python3.12 or later).
"""

import json


def handler(event, context):
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"message": f"hello, {name}", "event": event}),
    }
