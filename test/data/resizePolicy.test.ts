import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { crc32 } from 'node:zlib';
import { ImageDecodeError, decodeAndResize, decodeCounter } from '../../lib/data/resizePolicy';
import { jpeg, png } from './fixtures';

async function reason(data: Uint8Array, limit?: number): Promise<string> {
  try {
    await decodeAndResize(data, { size: 8, limitInputPixels: limit });
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof ImageDecodeError, String(e));
    return e.reason;
  }
}

const px = (d: Uint8Array, size: number, x: number, y: number): number[] => {
  const i = (y * size + x) * 3;
  return [d[i]!, d[i + 1]!, d[i + 2]!];
};

describe('decodeAndResize', () => {
  it('resizes the whole image to size x size RGB, ignoring the aspect ratio', async () => {
    const out = await decodeAndResize(await jpeg(10, 60, 20), { size: 16 });
    assert.equal(out.length, 16 * 16 * 3);
  });

  it('classifies unusable files with the documented reasons', async () => {
    const good = await jpeg(5, 64, 64);
    const goodPng = await png(5, 64, 64);
    assert.equal(await reason(new Uint8Array(0)), 'empty-file');
    assert.equal(await reason(Buffer.from('this is a text file, not a JPEG\n')), 'not-an-image');
    assert.equal(
      await reason(good.subarray(0, Math.floor(good.length / 2))),
      'corrupt-or-truncated',
    );
    assert.equal(await reason(goodPng.subarray(0, goodPng.length - 20)), 'corrupt-or-truncated');
    assert.equal(await reason(goodPng), 'ok');
  });

  it('refuses a decompression bomb before decoding it', async () => {
    const big = await sharp({
      create: { width: 2000, height: 1000, channels: 3, background: 'white' },
    })
      .png()
      .toBuffer();
    assert.equal(await reason(big, 1_999_999), 'too-large');
    assert.equal(await reason(big, 2_000_000), 'ok');
    await assert.rejects(
      decodeAndResize(big, { size: 8, limitInputPixels: 1000 }),
      /decompression bomb/,
    );
  });

  it('refuses a PNG whose header claims 50000 x 50000 pixels, under the default limit', async () => {
    const chunk = (type: string, body: Buffer): Buffer => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(body.length);
      const tb = Buffer.concat([Buffer.from(type, 'latin1'), body]);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(tb));
      return Buffer.concat([len, tb, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(50000, 0);
    ihdr.writeUInt32BE(50000, 4);
    ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
    const bomb = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    assert.deepEqual((await sharp(bomb, { limitInputPixels: false }).metadata()).width, 50000);
    await assert.rejects(
      decodeAndResize(bomb, { size: 8 }),
      (e: unknown) =>
        e instanceof ImageDecodeError &&
        e.reason === 'too-large' &&
        /100000000 pixels/.test(e.message),
    );
  });

  it('converts CMYK to RGB', async () => {
    const cmyk = await sharp({
      create: { width: 16, height: 16, channels: 3, background: { r: 20, g: 40, b: 220 } },
    })
      .toColourspace('cmyk')
      .jpeg({ quality: 95 })
      .toBuffer();
    assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
    const out = await decodeAndResize(cmyk, { size: 4 });
    const [r, g, b] = px(out, 4, 2, 2);
    // The CMYK gamut cannot hold this saturated blue, so only the hue is checked.
    assert.ok(b! > r! + 60 && b! > g! + 60, `${r},${g},${b}`);
  });

  it('flattens alpha on white and turns greyscale into 3 equal channels', async () => {
    const transparent = await png(0, 10, 10, 0);
    const out = await decodeAndResize(transparent, { size: 4 });
    assert.deepEqual(px(out, 4, 1, 1), [255, 255, 255]);
    const grey = await sharp({
      create: { width: 10, height: 10, channels: 3, background: { r: 77, g: 77, b: 77 } },
    })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    assert.equal((await sharp(grey).metadata()).channels, 1);
    const g = await decodeAndResize(grey, { size: 4 });
    assert.equal(g.length, 48);
    const [r, gg, b] = px(g, 4, 2, 2);
    assert.ok(r === gg && gg === b && Math.abs(r! - 77) <= 1, `${r},${gg},${b}`);
  });

  it('applies the EXIF orientation', async () => {
    // Left half red, right half blue; EXIF orientation 6 means "rotate 90 degrees clockwise to view",
    // which puts the red half on top.
    const raw = Buffer.alloc(20 * 20 * 3);
    for (let y = 0; y < 20; y++)
      for (let x = 0; x < 20; x++) raw.set(x < 10 ? [255, 0, 0] : [0, 0, 255], (y * 20 + x) * 3);
    const img = await sharp(raw, { raw: { width: 20, height: 20, channels: 3 } })
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 95 })
      .toBuffer();
    const out = await decodeAndResize(img, { size: 20 });
    const top = px(out, 20, 10, 2);
    const bottom = px(out, 20, 10, 17);
    assert.ok(top[0]! > 200 && top[2]! < 60, `top ${top}`);
    assert.ok(bottom[2]! > 200 && bottom[0]! < 60, `bottom ${bottom}`);
  });

  it('counts decodes but not empty files', async () => {
    const before = decodeCounter();
    await decodeAndResize(await jpeg(1), { size: 4 });
    await reason(new Uint8Array(0));
    assert.equal(decodeCounter() - before, 1);
  });
});
