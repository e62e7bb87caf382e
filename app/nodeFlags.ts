// The Node.js flags the gateway runs with: in the container (app/Dockerfile's CMD, checked by
// test/bundle.test.ts) and in the benchmark, so both measure the same process.
//
// --max-semi-space-size=32: V8's young generation may grow to 32 MiB per semi-space (16 by default). The
// gateway allocates a few KiB per request that die young; fewer, cheaper scavenges cut its CPU per request by
// about a tenth under load (npm run bench), for at most ~50 MiB more memory in a 2 GiB task.
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];
