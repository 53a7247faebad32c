// The design of AWS's reference chat (aws-samples/simple-websockets-chat-app), re-written here
// from its README (its code is not copied): `sendmessage` Scans the connections table and posts
// the frame's `data` to every connection, forgetting one that answers 410; it stores nothing.
// `bench --cost` runs this beside this project, against the same DynamoDB Local and the same
// `@connections` stub, and reads the JSON line it prints.
//
// Env: DYNAMODB_ENDPOINT, CONNECTIONS_URL, AUDIENCES (e.g. "2,100,1000"), SENDS, WARM_UPS.
import { DynamoDBClient, CreateTableCommand, BatchWriteItemCommand, ScanCommand, DeleteItemCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';

const region = process.env.AWS_REGION || 'us-east-1';
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const ddb = new DynamoDBClient({ region, endpoint: process.env.DYNAMODB_ENDPOINT, credentials });
const gateway = new ApiGatewayManagementApiClient({ region, endpoint: process.env.CONNECTIONS_URL, credentials });

/** The handler, as the reference's design has it. */
async function sendMessage(event, table) {
  const scanned = await ddb.send(new ScanCommand({ TableName: table, ProjectionExpression: 'connectionId' }));
  const data = JSON.parse(event.body).data;
  await Promise.all(scanned.Items.map(async ({ connectionId }) => {
    try {
      await gateway.send(new PostToConnectionCommand({ ConnectionId: connectionId.S, Data: data }));
    } catch (err) {
      if (err.$metadata?.httpStatusCode !== 410) throw err;
      await ddb.send(new DeleteItemCommand({ TableName: table, Key: { connectionId } }));
    }
  }));
  return { statusCode: 200, body: 'Data sent.' };
}

/** A connections table of `n` items (about 30 bytes each, as the reference's). */
async function prepare(n) {
  const table = `reference-connections-${n}-${Date.now()}`;
  await ddb.send(new CreateTableCommand({
    TableName: table,
    AttributeDefinitions: [{ AttributeName: 'connectionId', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  for (let i = 0; i < n; i += 25) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 25); j++) {
      batch.push({ PutRequest: { Item: { connectionId: { S: `ref${n}x${j}=` } } } });
    }
    await ddb.send(new BatchWriteItemCommand({ RequestItems: { [table]: batch } }));
  }
  return table;
}

const sends = Number(process.env.SENDS || 12);
const warmUps = Number(process.env.WARM_UPS || 2);
const results = [];
for (const n of (process.env.AUDIENCES || '2').split(',').map(Number)) {
  const table = await prepare(n);
  const event = { requestContext: { routeKey: 'sendmessage' }, body: JSON.stringify({ action: 'sendmessage', data: 'hello' }) };
  const handler = [];
  const cpu = [];
  for (let i = 0; i < warmUps + sends; i++) {
    const started = process.hrtime.bigint();
    const used = process.cpuUsage();
    const answer = await sendMessage(event, table);
    const spent = process.cpuUsage(used);
    if (answer.statusCode !== 200) throw new Error(`send ${i} answered ${answer.statusCode}`);
    if (i >= warmUps) {
      handler.push(Number(process.hrtime.bigint() - started) / 1e6);
      cpu.push((spent.user + spent.system) / 1000);
    }
  }
  await ddb.send(new DeleteTableCommand({ TableName: table }));
  handler.sort((a, b) => a - b);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  results.push({ n, handler_p50_ms: handler[Math.floor(handler.length / 2)], cpu_ms: mean(cpu), sends });
}
console.log(JSON.stringify(results));
