// The smallest Lambda function: greets and echoes the event it was invoked with.
// Handler: index.handler (runtime nodejs20.x or later).

export const handler = async (event) => {
  const name = event?.name ?? "world";
  return {
    statusCode: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: `hello, ${name}`, event }),
  };
};
