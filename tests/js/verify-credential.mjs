// An independent check of our Data Integrity proofs: Digital Bazaar's verifier (@digitalbazaar/vc with
// the eddsa-rdfc-2022 cryptosuite), offline.
// Usage: node verify-credential.mjs CREDENTIAL.json CONTEXTS.json [DIDS.json]
// Prints {"verified": true|false, "error": "..."}. A did:key verification method is resolved from the
// key it carries (what did:key resolution does); a did:web from DIDS.json ({did: DID document}, what
// the test fetched from the app as a resolver would); any other URL is refused, never fetched.
// Given a VC-JWT instead (a CLR 2.0 transcript, say), it checks the JWS with Digital Bazaar's Ed25519
// Multikey and the did:key its header names, then each credential a transcript holds as above, and
// prints {"verified", "error", "held": [true|false, ...]}.
import * as vc from '@digitalbazaar/vc';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import fs from 'fs';

const [credentialFile, contextsFile, didsFile] = process.argv.slice(2);
const dids = didsFile ? JSON.parse(fs.readFileSync(didsFile, 'utf8')) : {};
const text = fs.readFileSync(credentialFile, 'utf8').trim();
const contexts = JSON.parse(fs.readFileSync(contextsFile, 'utf8'));
const MULTIKEY_CONTEXT = 'https://w3id.org/security/multikey/v1';
const sec = term => `https://w3id.org/security#${term}`;
contexts[MULTIKEY_CONTEXT] = {'@context': {'@protected': true, id: '@id', type: '@type',
  Multikey: {'@id': sec('Multikey'), '@context': {'@protected': true, id: '@id', type: '@type',
    controller: {'@id': sec('controller'), '@type': '@id'},
    publicKeyMultibase: {'@id': sec('publicKeyMultibase'), '@type': sec('multibase')}}},
  controller: {'@id': sec('controller'), '@type': '@id'},
  assertionMethod: {'@id': sec('assertionMethod'), '@type': '@id', '@container': '@set'},
  verificationMethod: {'@id': sec('verificationMethod'), '@type': '@id', '@container': '@set'}}};

function didKeyDocuments(url) {
  const did = url.split('#')[0];
  const key = did.slice('did:key:'.length);
  const method = {id: `${did}#${key}`, type: 'Multikey', controller: did, publicKeyMultibase: key};
  if (url.includes('#')) return {'@context': MULTIKEY_CONTEXT, ...method};
  return {'@context': MULTIKEY_CONTEXT, id: did, assertionMethod: [method.id], verificationMethod: [method]};
}

const documentLoader = async url => {
  if (contexts[url]) return {contextUrl: null, documentUrl: url, document: structuredClone(contexts[url])};
  if (url.startsWith('did:key:z6Mk')) return {contextUrl: null, documentUrl: url, document: didKeyDocuments(url)};
  const [did, fragment] = url.split('#');
  if (dids[did]) {
    const document = structuredClone(dids[did]);
    if (!fragment) return {contextUrl: null, documentUrl: url, document};
    const method = document.verificationMethod.find(m => m.id === url);
    if (method) return {contextUrl: null, documentUrl: url, document: {'@context': MULTIKEY_CONTEXT, ...method}};
  }
  throw new Error(`offline loader: refused ${url}`);
};
const suite = new DataIntegrityProof({cryptosuite});
// revocation is Thetapath's own test's business (tests/app/test_revocation.py); this checks the proof
const checkStatus = async () => ({verified: true});

async function verifyOne(credential) {
  const result = await vc.verifyCredential({credential, suite, documentLoader, checkStatus});
  const error = result.error ? String(result.error.errors?.[0]?.message || result.error.message) : null;
  return {verified: result.verified, error};
}

async function verifyJwt(token) {
  const [header, payload, signature] = token.split('.');
  const decode = part => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  const {alg, kid} = decode(header);
  if (alg !== 'EdDSA' || !kid?.startsWith('did:key:z6Mk')) return {verified: false, error: `refused: ${alg} ${kid}`};
  const key = await Ed25519Multikey.from(didKeyDocuments(kid));
  const verified = await key.verifier().verify({
    data: new TextEncoder().encode(`${header}.${payload}`),
    signature: new Uint8Array(Buffer.from(signature, 'base64url'))});
  const claims = decode(payload);
  const held = [];
  for (const credential of claims.credentialSubject?.verifiableCredential ?? []) {
    held.push((await verifyOne(credential)).verified);
  }
  return {verified, error: verified ? null : 'Invalid signature', held, kid, iss: claims.iss};
}

const out = text.startsWith('{') ? await verifyOne(JSON.parse(text)) : await verifyJwt(text);
console.log(JSON.stringify(out));
