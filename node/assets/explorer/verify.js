// caseledger explorer: verification in the browser, trusting no node.
// Follows docs/FORMAT.md exactly: §Entry (leaf and entry bytes), §Chain (entry hash),
// §Merkle (RFC 9162 inclusion proofs), §Checkpoint (C2SP signed notes, Ed25519 over the body),
// §Receipt (C2SP tlog-proof), §Signatures (a submission's signature over its payload bytes).
// WebCrypto only: SHA-256 and Ed25519.
// What fails, and what each step found, is a finding {key, args}: the page words it in its
// language (app.js, FINDINGS), so nothing here is English or Chinese.
"use strict";

const CL = (() => {
  const te = new TextEncoder();
  // A verification failure, thrown: the finding's key and its arguments.
  class Failure extends Error {
    constructor(key, args = {}) { super(key); this.key = key; this.args = args; }
  }
  const fail = (key, args) => { throw new Failure(key, args); };
  // A caught error as a finding (an error of WebCrypto or the like keeps its own message).
  const finding = (e) => (e instanceof Failure ? { key: e.key, args: e.args } : { key: "error", args: { message: String(e && e.message || e) } });
  const ENTRY_CTX = te.encode("caseledger/v1/entry\0");
  const SUBMISSION_CTX = te.encode("caseledger/v1/submission\0");

  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  function unhex(s) {
    if (!/^([0-9a-f]{2})*$/.test(s)) fail("hex.bad");
    const out = new Uint8Array(s.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
    return out;
  }
  function b64(bytes) {
    let s = "";
    for (const x of bytes) s += String.fromCharCode(x);
    return btoa(s);
  }
  function unb64(s) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) fail("b64.bad");
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    if (b64(out) !== s) fail("b64.noncanonical");
    return out;
  }
  function concat(...parts) {
    const n = parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
  const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  async function sha256(...parts) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(...parts)));
  }
  async function ed25519Verify(pub, sig, msg) {
    const key = await crypto.subtle.importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, sig, msg);
  }

  // A postcard varint (LEB128, at most 10 bytes for a u64); returns [value as BigInt, next].
  function varint(bytes, pos) {
    let v = 0n, shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (pos + i >= bytes.length) fail("varint.truncated", { at: pos });
      const b = bytes[pos + i];
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return [v, pos + i + 1];
      shift += 7n;
    }
    fail("varint.long", { at: pos });
  }

  // §Entry: entry bytes = leaf ‖ 00 20 ‖ h.
  function parseEntry(bytes) {
    if (bytes.length < 1 + 1 + 1 + 1 + 34 + 34) fail("entry.short", { n: bytes.length });
    const n = bytes.length;
    if (bytes[n - 34] !== 0x00 || bytes[n - 33] !== 0x20) fail("entry.hashenc");
    const leaf = bytes.subarray(0, n - 34);
    const stored = bytes.subarray(n - 32);
    if (leaf[0] !== 0x01) fail("entry.version", { v: leaf[0] });
    const [index, p1] = varint(leaf, 1);
    const [acceptedAt, p2] = varint(leaf, p1);
    const variant = leaf[p2];
    if (variant !== 0 && variant !== 1) fail("entry.variant", { v: variant });
    const l = leaf.length;
    if (leaf[l - 34] !== 0x00 || leaf[l - 33] !== 0x20) fail("entry.prevenc");
    return { leaf, stored, index, acceptedAt, rejected: variant === 1, payloadStart: p2 + 1, prev: leaf.subarray(l - 32) };
  }

  // §Merkle: RFC 9162 §2.1.3.2, with the proof length checked first as the Rust verifier does.
  async function verifyInclusion(leafHash, index, size, proof, root) {
    if (index >= size) return { key: "incl.index", args: { index, size } };
    const x = index ^ (size - 1n);
    const inner = BigInt(x.toString(2).length) - (x === 0n ? 1n : 0n);
    const border = BigInt((index >> inner).toString(2).split("").filter((c) => c === "1").length);
    if (BigInt(proof.length) !== inner + border) return { key: "incl.length", args: { got: proof.length, index, size, want: inner + border } };
    let fn = index, sn = size - 1n, r = leafHash;
    for (const p of proof) {
      if (sn === 0n) return { key: "incl.long" };
      if ((fn & 1n) === 1n || fn === sn) {
        r = await sha256(Uint8Array.of(1), p, r);
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      } else {
        r = await sha256(Uint8Array.of(1), r, p);
      }
      fn >>= 1n; sn >>= 1n;
    }
    if (sn !== 0n) return { key: "incl.short" };
    if (!eq(r, root)) return { key: "incl.root", args: { computed: hex(r), root: hex(root) } };
    return null;
  }

  const canonDec = (s) => /^(0|[1-9][0-9]*)$/.test(s);

  // §Checkpoint: a strict parse of the note.
  function parseNote(text) {
    if (/[\r\x00-\x09\x0b-\x1f]/.test(text)) fail("note.control");
    if (!text.endsWith("\n")) fail("note.newline");
    const cut = text.lastIndexOf("\n\n");
    if (cut < 0) fail("note.blank");
    const body = text.slice(0, cut + 1);
    const lines = body.slice(0, -1).split("\n");
    if (lines.length !== 5) fail("note.lines", { n: lines.length });
    const [origin, sizeText, rootText, chainLine, timeLine] = lines;
    if (!origin || /[\s+]/.test(origin)) fail("note.origin");
    if (!canonDec(sizeText)) fail("note.size", { line: JSON.stringify(sizeText) });
    const root = unb64(rootText);
    if (root.length !== 32) fail("note.rootlen");
    const ch = /^chain-head ([0-9a-f]{64})$/.exec(chainLine);
    if (!ch) fail("note.chain");
    const tm = /^time (0|[1-9][0-9]*)$/.exec(timeLine);
    if (!tm) fail("note.time");
    const sigText = text.slice(cut + 2);
    const sigs = [];
    for (const line of sigText.slice(0, -1).split("\n")) {
      const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
      if (!m) fail("note.sigline", { line: JSON.stringify(line) });
      const raw = unb64(m[2]);
      if (raw.length !== 68) fail("note.siglen", { n: raw.length });
      sigs.push({ name: m[1], keyHash: raw.subarray(0, 4), sig: raw.subarray(4) });
    }
    if (sigs.length < 1 || sigs.length > 100) fail("note.sigcount", { n: sigs.length });
    return { origin, size: BigInt(sizeText), root, chainHead: ch[1], time: BigInt(tm[1]), body: te.encode(body), sigs };
  }

  // §Checkpoint: key hash = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[0..4].
  async function keyHash(name, pub) {
    return (await sha256(te.encode(name), Uint8Array.of(0x0a, 0x01), pub)).subarray(0, 4);
  }

  // §Checkpoint steps 1–3 against known node keys [{name, pub}] and a quorum; returns the
  // names that verified, or throws naming what failed.
  async function verifyNote(note, nodes, quorum) {
    const ok = new Set();
    for (const s of note.sigs) {
      const k = nodes.find((n) => n.name === s.name);
      if (!k) continue;
      if (!eq(await keyHash(k.name, k.pub), s.keyHash)) continue;
      if (!(await ed25519Verify(k.pub, s.sig, note.body))) fail("note.badsig", { name: s.name });
      ok.add(s.name);
    }
    if (ok.size < Math.max(quorum, 1)) fail("note.quorum", { ok: ok.size, quorum });
    return [...ok];
  }

  // §Receipt: the C2SP tlog-proof text.
  function parseReceipt(text) {
    const lines = text.split("\n");
    if (lines[0] !== "c2sp.org/tlog-proof@v1") fail("receipt.magic");
    const ex = /^extra (\S+)$/.exec(lines[1] || "");
    if (!ex) fail("receipt.extra");
    const ix = /^index (0|[1-9][0-9]*)$/.exec(lines[2] || "");
    if (!ix) fail("receipt.index");
    const proof = [];
    let i = 3;
    for (; i < lines.length && lines[i] !== ""; i++) {
      let h;
      try { h = unb64(lines[i]); } catch (e) { fail("receipt.hashb64", { i: i - 3, why: finding(e) }); }
      if (h.length !== 32) fail("receipt.hashlen", { i: i - 3, n: h.length });
      proof.push(h);
    }
    if (i >= lines.length) fail("receipt.blank");
    return { entry: unb64(ex[1]), index: BigInt(ix[1]), proof, note: lines.slice(i + 1).join("\n") };
  }

  // Verifies a receipt for the entry shown (its canonical bytes, from /v1/entries/{i}) against
  // node keys and a quorum. Returns the steps, each {step, ok, finding: {key, args}}; the
  // first failure stops the verification.
  async function verifyReceipt(text, shownBytes, nodes, quorum) {
    const steps = [];
    const step = (s, ok, key, args) => { steps.push({ step: s, ok, finding: { key, args: args || {} } }); return ok; };
    const failed = (s, e) => { steps.push({ step: s, ok: false, finding: finding(e) }); return steps; };
    let r, note, entry;
    try { r = parseReceipt(text); } catch (e) { return failed("receipt", e); }
    step("receipt", true, "ok.receipt", { index: r.index, n: r.proof.length });
    try { note = parseNote(r.note); } catch (e) { return failed("checkpoint", e); }
    try {
      const names = await verifyNote(note, nodes, quorum);
      step("checkpoint", true, "ok.checkpoint", { size: note.size, names: names.join(", "), quorum });
    } catch (e) { return failed("checkpoint", e); }
    if (!eq(r.entry, shownBytes)) { step("entry", false, "entry.differs"); return steps; }
    try { entry = parseEntry(r.entry); } catch (e) { return failed("entry", e); }
    if (entry.index !== r.index) { step("entry", false, "entry.indexdiff", { entry: entry.index, receipt: r.index }); return steps; }
    if (r.index >= note.size) { step("entry", false, "entry.beyond", { index: r.index, size: note.size }); return steps; }
    const h = await sha256(ENTRY_CTX, entry.leaf);
    if (!eq(h, entry.stored)) { step("entry_hash", false, "entry.hashmismatch", { computed: hex(h), stored: hex(entry.stored) }); return steps; }
    step("entry_hash", true, "ok.hash", { hash: hex(h) });
    const leafHash = await sha256(Uint8Array.of(0), entry.leaf);
    const why = await verifyInclusion(leafHash, r.index, note.size, r.proof, note.root);
    if (why) { step("inclusion_proof", false, why.key, why.args); return steps; }
    step("inclusion_proof", true, "ok.inclusion", { leaf: hex(leafHash).slice(0, 16), index: r.index, root: hex(note.root).slice(0, 16), size: note.size });
    return steps;
  }

  // §Signatures "From entry bytes": the payload's bytes are those between the record variant
  // and the 66-byte signature that follows them (found by its bytes). Returns null if it
  // verifies, else the finding.
  async function verifySubmission(entryBytes, sigBytes, pub) {
    const e = parseEntry(entryBytes);
    const needle = concat(Uint8Array.of(0x00, 0x40), sigBytes);
    let at = -1;
    for (let i = e.payloadStart; i + needle.length <= e.leaf.length; i++) {
      let m = true;
      for (let j = 0; j < needle.length; j++) if (e.leaf[i + j] !== needle[j]) { m = false; break; }
      if (m) { at = i; break; }
    }
    if (at < 0) return { key: "sig.notfound" };
    const msg = concat(SUBMISSION_CTX, Uint8Array.of(0x01), e.leaf.subarray(e.payloadStart, at));
    return (await ed25519Verify(pub, sigBytes, msg)) ? null : { key: "sig.bad" };
  }

  return { Failure, finding, hex, unhex, b64, unb64, concat, sha256, parseEntry, verifyInclusion, parseNote, verifyNote, parseReceipt, verifyReceipt, verifySubmission, keyHash };
})();
