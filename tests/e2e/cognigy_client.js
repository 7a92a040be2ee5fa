// Drives Inject & Notify with Cognigy's own REST client, @cognigy/rest-api-client, exactly as an
// integration written for Cognigy.AI would, and prints what it got back as one JSON line.
// Usage: node cognigy_client.js '{"baseUrl", "apiKey", "calls": [{"kind": "inject"|"notify", "body": {...}}]}'
const { RestAPIClient } = require("@cognigy/rest-api-client");

async function main() {
  const request = JSON.parse(process.argv[2]);
  // maxRetries 0: a refused call must fail here, not be retried behind the test's back.
  const client = new RestAPIClient({ baseUrl: request.baseUrl, maxRetries: 0 });
  client.setCredentials({ type: "ApiKey", apiKey: request.apiKey });
  const results = [];
  for (const call of request.calls) {
    try {
      results.push({ ok: true, answer: await client[call.kind](call.body) });
    } catch (error) {
      results.push({ ok: false, error: error.constructor.name, status: error.code ?? null, detail: error.details ?? null });
    }
  }
  process.stdout.write(JSON.stringify(results) + "\n");
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(1);
});
