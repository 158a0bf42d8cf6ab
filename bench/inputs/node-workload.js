// A JavaScript workload for Debian's libnode (V8 and its embedded builtins):
// prints what each part computed, so two runs compare byte for byte.
'use strict';
const crypto = require('crypto');
const zlib = require('zlib');
const out = [];
let s = 0;
for (let i = 0; i < 200000; i++) s = (s * 31 + (i % 97)) % 1000003;
out.push('loop ' + s);
const words = 'the quick brown fox jumps over the lazy dog '.repeat(200).split(' ');
const counts = new Map();
for (const w of words) counts.set(w, (counts.get(w) || 0) + 1);
out.push('map ' + JSON.stringify([...counts].sort()));
out.push('regex ' + 'a1b22c333d4444'.replace(/\d+/g, (m) => m.length).match(/[a-z]\d/g).join(','));
out.push('json ' + JSON.stringify(JSON.parse('{"x":[1,2.5,"y",null,{"z":true}]}')));
out.push('sort ' + Array.from({length: 50}, (_, i) => (i * 7919) % 101).sort((a, b) => a - b).join(' '));
out.push('bigint ' + (2n ** 200n % 1000000007n));
out.push('typed ' + new Float64Array([1.5, 2.25, 3]).map((x) => x * x).join(','));
class Shape { area() { return 0; } }
class Square extends Shape { constructor(a) { super(); this.a = a; } area() { return this.a * this.a; } }
out.push('class ' + [new Square(3), new Shape()].map((x) => x.area()).join(','));
try { null.x; } catch (e) { out.push('error ' + e.constructor.name); }
out.push('date ' + new Date(Date.UTC(2020, 1, 29)).toISOString());
out.push('intl ' + new Intl.NumberFormat('en-US').format(1234567.891));
out.push('sha256 ' + crypto.createHash('sha256').update('elfopt').digest('hex'));
out.push('zlib ' + zlib.inflateSync(zlib.deflateSync(Buffer.from('x'.repeat(1000)))).length);
// WebAssembly: (func (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
const wasm = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 2, 127, 127, 1, 127, 3, 2, 1, 0,
  7, 7, 1, 3, 97, 100, 100, 0, 0, 10, 9, 1, 7, 0, 32, 0, 32, 1, 106, 11]);
out.push('wasm ' + new WebAssembly.Instance(new WebAssembly.Module(wasm)).exports.add(40, 2));
Promise.all([1, 2, 3].map(async (x) => x * 2)).then((v) => {
  out.push('promise ' + v.join(','));
  console.log(out.join('\n'));
});
