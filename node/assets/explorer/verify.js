// caseledger explorer: verification in the browser, trusting no node.
// Follows docs/FORMAT.md exactly: §Entry (leaf and entry bytes), §Chain (entry hash),
// §Merkle (RFC 9162 inclusion proofs), §Checkpoint (C2SP signed notes, Ed25519 over the body),
// §Receipt (C2SP tlog-proof), §Signatures (a submission's signature over its payload bytes).
// WebCrypto only: SHA-256 and Ed25519.
"use strict";

const CL = (() => {
  const te = new TextEncoder();
  const ENTRY_CTX = te.encode("caseledger/v1/entry\0");
  const SUBMISSION_CTX = te.encode("caseledger/v1/submission\0");

  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  function unhex(s) {
    if (!/^([0-9a-f]{2})*$/.test(s)) throw new Error("not lowercase hex");
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
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new Error("not standard padded base64");
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    if (b64(out) !== s) throw new Error("not canonical base64");
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
      if (pos + i >= bytes.length) throw new Error("truncated varint at byte " + pos);
      const b = bytes[pos + i];
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return [v, pos + i + 1];
      shift += 7n;
    }
    throw new Error("varint longer than 10 bytes at byte " + pos);
  }

  // §Entry: entry bytes = leaf ‖ 00 20 ‖ h.
  function parseEntry(bytes) {
    if (bytes.length < 1 + 1 + 1 + 1 + 34 + 34) throw new Error("entry too short (" + bytes.length + " bytes)");
    const n = bytes.length;
    if (bytes[n - 34] !== 0x00 || bytes[n - 33] !== 0x20) throw new Error("entry hash is not encoded 00 20 ‖ 32 bytes");
    const leaf = bytes.subarray(0, n - 34);
    const stored = bytes.subarray(n - 32);
    if (leaf[0] !== 0x01) throw new Error("unknown format version " + leaf[0]);
    const [index, p1] = varint(leaf, 1);
    const [acceptedAt, p2] = varint(leaf, p1);
    const variant = leaf[p2];
    if (variant !== 0 && variant !== 1) throw new Error("unknown record variant " + variant);
    const l = leaf.length;
    if (leaf[l - 34] !== 0x00 || leaf[l - 33] !== 0x20) throw new Error("prev is not encoded 00 20 ‖ 32 bytes");
    return { leaf, stored, index, acceptedAt, rejected: variant === 1, payloadStart: p2 + 1, prev: leaf.subarray(l - 32) };
  }

  // §Merkle: RFC 9162 §2.1.3.2, with the proof length checked first as the Rust verifier does.
  async function verifyInclusion(leafHash, index, size, proof, root) {
    if (index >= size) return "index " + index + " is not below the tree size " + size;
    const x = index ^ (size - 1n);
    const inner = BigInt(x.toString(2).length) - (x === 0n ? 1n : 0n);
    const border = BigInt((index >> inner).toString(2).split("").filter((c) => c === "1").length);
    if (BigInt(proof.length) !== inner + border) return "the proof has " + proof.length + " hashes; a proof of index " + index + " in a tree of " + size + " has " + (inner + border);
    let fn = index, sn = size - 1n, r = leafHash;
    for (const p of proof) {
      if (sn === 0n) return "the proof is longer than the path";
      if ((fn & 1n) === 1n || fn === sn) {
        r = await sha256(Uint8Array.of(1), p, r);
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      } else {
        r = await sha256(Uint8Array.of(1), r, p);
      }
      fn >>= 1n; sn >>= 1n;
    }
    if (sn !== 0n) return "the proof is shorter than the path";
    if (!eq(r, root)) return "the root computed from the proof, " + hex(r) + ", differs from the checkpoint's root " + hex(root);
    return null;
  }

  const canonDec = (s) => /^(0|[1-9][0-9]*)$/.test(s);

  // §Checkpoint: a strict parse of the note.
  function parseNote(text) {
    if (/[\r\x00-\x09\x0b-\x1f]/.test(text)) throw new Error("the note has a control character");
    if (!text.endsWith("\n")) throw new Error("the note does not end with a newline");
    const cut = text.lastIndexOf("\n\n");
    if (cut < 0) throw new Error("the note has no blank line before its signatures");
    const body = text.slice(0, cut + 1);
    const lines = body.slice(0, -1).split("\n");
    if (lines.length !== 5) throw new Error("the note body has " + lines.length + " lines, not 5");
    const [origin, sizeText, rootText, chainLine, timeLine] = lines;
    if (!origin || /[\s+]/.test(origin)) throw new Error("bad origin line");
    if (!canonDec(sizeText)) throw new Error("bad tree size line " + JSON.stringify(sizeText));
    const root = unb64(rootText);
    if (root.length !== 32) throw new Error("the root is not 32 bytes");
    const ch = /^chain-head ([0-9a-f]{64})$/.exec(chainLine);
    if (!ch) throw new Error("bad chain-head line");
    const tm = /^time (0|[1-9][0-9]*)$/.exec(timeLine);
    if (!tm) throw new Error("bad time line");
    const sigText = text.slice(cut + 2);
    const sigs = [];
    for (const line of sigText.slice(0, -1).split("\n")) {
      const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
      if (!m) throw new Error("bad signature line " + JSON.stringify(line));
      const raw = unb64(m[2]);
      if (raw.length !== 68) throw new Error("a signature line carries " + raw.length + " bytes, not 68");
      sigs.push({ name: m[1], keyHash: raw.subarray(0, 4), sig: raw.subarray(4) });
    }
    if (sigs.length < 1 || sigs.length > 100) throw new Error("the note has " + sigs.length + " signature lines");
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
      if (!(await ed25519Verify(k.pub, s.sig, note.body))) throw new Error("the signature of " + s.name + " on the checkpoint does not verify");
      ok.add(s.name);
    }
    if (ok.size < Math.max(quorum, 1)) throw new Error("only " + ok.size + " known node signature(s) verified; " + quorum + " needed");
    return [...ok];
  }

  // §Receipt: the C2SP tlog-proof text.
  function parseReceipt(text) {
    const lines = text.split("\n");
    if (lines[0] !== "c2sp.org/tlog-proof@v1") throw new Error("not a c2sp.org/tlog-proof@v1 receipt");
    const ex = /^extra (\S+)$/.exec(lines[1] || "");
    if (!ex) throw new Error("no extra line");
    const ix = /^index (0|[1-9][0-9]*)$/.exec(lines[2] || "");
    if (!ix) throw new Error("no index line");
    const proof = [];
    let i = 3;
    for (; i < lines.length && lines[i] !== ""; i++) {
      let h;
      try { h = unb64(lines[i]); } catch (e) { throw new Error("proof hash " + (i - 3) + " is not base64: " + e.message); }
      if (h.length !== 32) throw new Error("proof hash " + (i - 3) + " is " + h.length + " bytes, not 32");
      proof.push(h);
    }
    if (i >= lines.length) throw new Error("no blank line before the checkpoint");
    return { entry: unb64(ex[1]), index: BigInt(ix[1]), proof, note: lines.slice(i + 1).join("\n") };
  }

  // Verifies a receipt for the entry shown (its canonical bytes, from /v1/entries/{i}) against
  // node keys and a quorum. Returns the steps, each {step, ok, detail}; the first failure
  // stops the verification.
  async function verifyReceipt(text, shownBytes, nodes, quorum) {
    const steps = [];
    const step = (s, ok, detail) => { steps.push({ step: s, ok, detail }); return ok; };
    let r, note, entry;
    try { r = parseReceipt(text); } catch (e) { step("receipt", false, e.message); return steps; }
    step("receipt", true, "c2sp.org/tlog-proof@v1, index " + r.index + ", " + r.proof.length + " proof hashes");
    try { note = parseNote(r.note); } catch (e) { step("checkpoint", false, e.message); return steps; }
    try {
      const names = await verifyNote(note, nodes, quorum);
      step("checkpoint", true, "tree size " + note.size + ", cosigned by " + names.join(", ") + " (quorum " + quorum + ")");
    } catch (e) { step("checkpoint", false, e.message); return steps; }
    if (!eq(r.entry, shownBytes)) { step("entry", false, "the receipt's entry bytes differ from the entry shown"); return steps; }
    try { entry = parseEntry(r.entry); } catch (e) { step("entry", false, e.message); return steps; }
    if (entry.index !== r.index) { step("entry", false, "the entry's index " + entry.index + " differs from the receipt's " + r.index); return steps; }
    if (r.index >= note.size) { step("entry", false, "index " + r.index + " is not below the checkpoint's size " + note.size); return steps; }
    const h = await sha256(ENTRY_CTX, entry.leaf);
    if (!eq(h, entry.stored)) { step("entry hash", false, "SHA-256(ENTRY ‖ leaf) is " + hex(h) + " but the entry stores " + hex(entry.stored)); return steps; }
    step("entry hash", true, hex(h));
    const leafHash = await sha256(Uint8Array.of(0), entry.leaf);
    const why = await verifyInclusion(leafHash, r.index, note.size, r.proof, note.root);
    if (why) { step("inclusion proof", false, why); return steps; }
    step("inclusion proof", true, "leaf " + hex(leafHash).slice(0, 16) + "… at " + r.index + " leads to the root " + hex(note.root).slice(0, 16) + "… of size " + note.size);
    return steps;
  }

  // §Signatures "From entry bytes": the payload's bytes are those between the record variant
  // and the 66-byte signature that follows them (found by its bytes).
  async function verifySubmission(entryBytes, sigBytes, pub) {
    const e = parseEntry(entryBytes);
    const needle = concat(Uint8Array.of(0x00, 0x40), sigBytes);
    let at = -1;
    for (let i = e.payloadStart; i + needle.length <= e.leaf.length; i++) {
      let m = true;
      for (let j = 0; j < needle.length; j++) if (e.leaf[i + j] !== needle[j]) { m = false; break; }
      if (m) { at = i; break; }
    }
    if (at < 0) return "the signature is not in the entry's bytes";
    const msg = concat(SUBMISSION_CTX, Uint8Array.of(0x01), e.leaf.subarray(e.payloadStart, at));
    return (await ed25519Verify(pub, sigBytes, msg)) ? null : "the signature does not verify over the payload with the signer's key";
  }

  return { hex, unhex, b64, unb64, concat, sha256, parseEntry, verifyInclusion, parseNote, verifyNote, parseReceipt, verifyReceipt, verifySubmission, keyHash };
})();
