#!/usr/bin/env node
// A Node.js textlens client (@grpc/grpc-js + @grpc/proto-loader) for the interop
// test tests/reliability/test_node_interop.py.
//
//   node interop.js TARGET CA_PEM TOKEN INPUTS_JSON OUT_JSON
//
// It calls every textlens.v1.TextAnalysis RPC and grpc.health.v1 Health/Check
// over TLS (CA_PEM verifies the server) with `authorization: Bearer TOKEN` as
// call credentials, on the inputs of INPUTS_JSON, and writes what it got to
// OUT_JSON: the responses as proto-loader decodes them (keepCase, enums as
// strings, longs as strings, defaults filled in), embedding vectors decoded
// from their little-endian bytes, and for every entity whether JavaScript's own
// slicing of the input at its offsets gives back the entity's text. Then it
// records the status codes of calls the server must refuse (no token, a wrong
// token, plaintext, a wrong CA, a read token reloading).
//
// A failed call does not stop the run: it is recorded as {"error": {code,
// details}} where its answer would be, and the test says which one failed.
// Exit status: 0 when OUT_JSON was written, 1 when the script itself crashed
// (OUT_JSON then says how), 2 on bad arguments, 3 when the whole run overran its
// time budget (OUT_JSON then holds what was done).
"use strict";

const fs = require("fs");
const path = require("path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};
const CALL_SECONDS = 60; // deadline of one call
const REFUSAL_SECONDS = 15; // deadline of a call that must be refused
const RUN_SECONDS = 240; // the whole run

function usage(message) {
  process.stderr.write(`interop.js: ${message}\n`);
  process.stderr.write("usage: node interop.js TARGET CA_PEM TOKEN INPUTS_JSON OUT_JSON\n");
  process.exit(2);
}

const [target, caPath, token, inputsPath, outPath] = process.argv.slice(2);
if (!outPath) usage("expected 5 arguments");
const inputs = JSON.parse(fs.readFileSync(inputsPath, "utf8"));
const here = __dirname;
const textlensProto =
  inputs.textlens_proto || path.resolve(here, "..", "..", "..", "proto", "textlens", "v1", "textlens.proto");
const healthProto = inputs.health_proto || path.join(here, "health.proto");

const textlens = grpc.loadPackageDefinition(protoLoader.loadSync(textlensProto, LOADER_OPTIONS)).textlens.v1;
const health = grpc.loadPackageDefinition(protoLoader.loadSync(healthProto, LOADER_OPTIONS)).grpc.health.v1;

const out = {
  node: process.version,
  grpc_js: require("@grpc/grpc-js/package.json").version,
  proto_loader: require("@grpc/proto-loader/package.json").version,
};

function writeOut() {
  fs.writeFileSync(outPath, JSON.stringify(out, null, 1));
}

const budget = setTimeout(() => {
  out.overran = `the run took longer than ${RUN_SECONDS} s`;
  writeOut();
  process.exit(3);
}, RUN_SECONDS * 1000);
budget.unref();

// --- channels ------------------------------------------------------------------

function bearer(secret) {
  return grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    const metadata = new grpc.Metadata();
    metadata.add("authorization", `Bearer ${secret}`);
    callback(null, metadata);
  });
}

function tls(ca, secret) {
  const channel = grpc.credentials.createSsl(fs.readFileSync(ca));
  return secret === undefined ? channel : grpc.credentials.combineChannelCredentials(channel, bearer(secret));
}

const clients = [];

function client(Service, credentials, at = target) {
  const made = new Service(at, credentials);
  clients.push(made);
  return made;
}

function deadline(seconds) {
  return new Date(Date.now() + seconds * 1000);
}

// One unary call: {response} or {error: {code, name, details}}.
function call(stub, method, request, seconds = CALL_SECONDS) {
  return new Promise((resolve) => {
    stub[method](request, { deadline: deadline(seconds) }, (err, response) => {
      if (err) {
        resolve({ error: { code: err.code, name: grpc.status[err.code], details: err.details } });
      } else {
        resolve({ response });
      }
    });
  });
}

function answer(result) {
  return result.error ? { error: result.error } : result.response;
}

// --- vectors -------------------------------------------------------------------

function halfToFloat(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function vectorsOf(response) {
  const bytes = response.vectors; // a Buffer
  const width = response.dtype === "VECTOR_DTYPE_FLOAT16" ? 2 : 4;
  const values = [];
  for (let offset = 0; offset < bytes.length; offset += width) {
    values.push(width === 2 ? halfToFloat(bytes.readUInt16LE(offset)) : bytes.readFloatLE(offset));
  }
  const rows = [];
  for (let i = 0; response.dim > 0 && i < values.length; i += response.dim) {
    rows.push(values.slice(i, i + response.dim));
  }
  const { vectors, ...rest } = response;
  return { ...rest, byte_length: bytes.length, vectors: rows };
}

// --- entity offsets, checked the way a JavaScript caller would use them --------

const SLICE = {
  // Code points: index the string's code points.
  OFFSET_UNIT_CODE_POINT: (text, start, end) => Array.from(text).slice(start, end).join(""),
  // UTF-16 code units: JavaScript's own string indices.
  OFFSET_UNIT_UTF16: (text, start, end) => text.slice(start, end),
  // UTF-8 bytes: a Buffer of the text.
  OFFSET_UNIT_UTF8_BYTE: (text, start, end) => Buffer.from(text, "utf8").subarray(start, end).toString("utf8"),
};

function sliced(unit, texts, response) {
  return response.results.map((result, i) =>
    result.entities.map((entity) => {
      const got = SLICE[unit](texts[i], entity.start, entity.end);
      return { slice: got, ok: got === entity.text };
    }),
  );
}

// --- the run -------------------------------------------------------------------

async function main() {
  const api = client(textlens.TextAnalysis, tls(caPath, token));
  const checker = client(health.Health, tls(caPath, token));

  out.sentiment = answer(await call(api, "Sentiment", { texts: inputs.sentiment.texts }));

  const aspect = inputs.aspect;
  out.aspect = answer(await call(api, "AspectSentiment", { texts: aspect.texts, targets: aspect.targets }));

  out.entities = {};
  out.entity_slices = {};
  const entityTexts = inputs.entities.texts;
  for (const unit of Object.keys(SLICE)) {
    const got = await call(api, "Entities", { texts: entityTexts, offsets: unit });
    out.entities[unit] = answer(got);
    if (got.response) out.entity_slices[unit] = sliced(unit, entityTexts, got.response);
  }

  out.embed = {};
  for (const [name, request] of Object.entries({
    float32: { dtype: "VECTOR_DTYPE_FLOAT32" },
    float16: { dtype: "VECTOR_DTYPE_FLOAT16" },
    raw: { dtype: "VECTOR_DTYPE_FLOAT32", skip_normalize: true },
  })) {
    const got = await call(api, "Embed", { texts: inputs.embed.texts, ...request });
    out.embed[name] = got.error ? { error: got.error } : vectorsOf(got.response);
  }

  const classify = inputs.classify;
  out.classify = answer(
    await call(api, "Classify", {
      texts: classify.texts,
      labels: classify.labels,
      hypothesis_template: classify.hypothesis_template,
    }),
  );

  out.list_models = answer(await call(api, "ListModels", {}));

  out.health = {
    server: answer(await call(checker, "Check", { service: "" })),
    text_analysis: answer(await call(checker, "Check", { service: "textlens.v1.TextAnalysis" })),
  };

  const operator = client(textlens.TextAnalysis, tls(caPath, inputs.reload.admin_token));
  out.reload = answer(await call(operator, "ReloadModels", { names: inputs.reload.names }));

  // Calls the server must refuse: the status code (and message) of each.
  const refused = async (stub, method, request) => {
    const got = await call(stub, method, request, REFUSAL_SECONDS);
    return got.error || { code: 0, name: "OK" };
  };
  const wrongCa = inputs.refusals.wrong_ca;
  out.refusals = {
    no_token: await refused(client(textlens.TextAnalysis, tls(caPath)), "Sentiment", { texts: ["hi"] }),
    no_token_list_models: await refused(client(textlens.TextAnalysis, tls(caPath)), "ListModels", {}),
    no_token_health: await refused(client(health.Health, tls(caPath)), "Check", { service: "" }),
    wrong_token: await refused(
      client(textlens.TextAnalysis, tls(caPath, inputs.refusals.wrong_token)),
      "Sentiment",
      { texts: ["hi"] },
    ),
    read_token_reload: await refused(api, "ReloadModels", { names: [] }),
    plaintext: await refused(
      client(textlens.TextAnalysis, grpc.credentials.createInsecure()),
      "Sentiment",
      { texts: ["hi"] },
    ),
    wrong_ca: await refused(client(textlens.TextAnalysis, tls(wrongCa, token)), "Sentiment", { texts: ["hi"] }),
  };

  // mTLS: a second server that requires client certificates from the test CA.
  if (inputs.mtls) {
    const m = inputs.mtls;
    const withCert = (cert, key) =>
      grpc.credentials.combineChannelCredentials(
        grpc.credentials.createSsl(fs.readFileSync(caPath), fs.readFileSync(key), fs.readFileSync(cert)),
        bearer(token),
      );
    const hi = { texts: ["I love this phone"] };
    out.mtls = {
      with_cert: answer(await call(client(textlens.TextAnalysis, withCert(m.cert, m.key), m.target), "Sentiment", hi)),
      no_cert: await refused(client(textlens.TextAnalysis, tls(caPath, token), m.target), "Sentiment", hi),
      wrong_cert: await refused(
        client(textlens.TextAnalysis, withCert(m.wrong_cert, m.wrong_key), m.target),
        "Sentiment",
        hi,
      ),
    };
  }
}

main()
  .then(() => {
    for (const made of clients) made.close();
    writeOut();
    process.exit(0);
  })
  .catch((err) => {
    out.crashed = String((err && err.stack) || err);
    writeOut();
    process.exit(1);
  });
