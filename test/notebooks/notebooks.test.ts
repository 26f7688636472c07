import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../lib/cli/main';
import { listNotebooks, notebookErrors } from '../../lib/notebooks/run';
import { closeBrowser, figuresShownInHtml } from '../../lib/plots';
import { findFigures } from '../../lib/plots/report';
import { projectRoot } from '../../lib/pipeline/params';
import { tempDir } from '../tmp';

/**
 * Every notebook executed in order by real Jupyter (nbconvert, the tslab kernel) in the smoke
 * profile, through the same command as the main job; then their outputs are checked.
 */
const EXPECTED: Record<string, { figures: number; tables: number; text: RegExp[] }> = {
  '00-setup': {
    figures: 0,
    tables: 1,
    text: [/backend: (wasm|cpu|node|node-gpu|webgpu)/, /versions: node/, /profile: smoke/],
  },
  '01-data-prep': {
    figures: 3,
    tables: 4,
    text: [/images in 12 styles/, /not-an-image|corrupt-or-truncated|empty-file/, /50 artists/],
  },
  '02-pretraining': {
    figures: 1,
    tables: 1,
    text: [/base weights: (bundled|imagenet|random)/, /completed: 1 epochs/],
  },
  '03-block-sweep': {
    figures: 4,
    tables: 3,
    text: [/has the highest validation accuracy/, /McNemar/, /on test: accuracy \d+\.\d%/],
  },
  '04-class-weights': {
    figures: 2,
    tables: 4,
    text: [/Non-Weighted Accuracy%/, /fine-tuning with the first \d+ blocks frozen/],
  },
  '05-metadata-features': {
    figures: 4,
    tables: 12,
    text: [/components \((full|randomized) solver\)/, /split by artist/, /GBNN - SNN = /],
  },
  '06-use-the-model': {
    figures: 1,
    tables: 2,
    text: [
      /model: .*sweep.block\d+/,
      /right on \d+ of \d+/,
      /max probability difference/,
      /export.index\.html/,
    ],
  },
};

function outputsText(file: string): { text: string; tables: number } {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    cells: { outputs?: { text?: string[] | string; data?: Record<string, string[] | string> }[] }[];
  };
  const join = (v: string[] | string | undefined): string =>
    Array.isArray(v) ? v.join('') : (v ?? '');
  let text = '';
  let tables = 0;
  for (const c of nb.cells) {
    for (const o of c.outputs ?? []) {
      text += join(o.text);
      const html = join(o.data?.['text/html']);
      text += join(o.data?.['text/plain']);
      if (html.includes('class="artstyle-table"')) tables++;
    }
  }
  return { text, tables };
}

describe(
  'the notebooks, executed by Jupyter in the smoke profile',
  { timeout: 15 * 60_000 },
  () => {
    const out = tempDir('artstyle-notebooks-');
    const executed = path.join(out, 'notebooks');
    let code = -1;

    before(async () => {
      code = await main(['all', '--profile', 'smoke', '--out', out]);
    });
    after(async () => {
      await closeBrowser();
    });

    it('the main job command completes', () => {
      assert.equal(code, 0);
    });

    const names = listNotebooks(path.join(projectRoot(), 'notebooks')).map((f) =>
      path.basename(f, '.ipynb'),
    );
    it('every notebook of notebooks/ is covered here', () => {
      assert.deepEqual(names, Object.keys(EXPECTED));
    });

    for (const name of names) {
      const expect = EXPECTED[name] ?? { figures: 0, tables: 0, text: [] };
      it(`${name}: no errors, its tables, figures and key lines`, () => {
        const file = path.join(executed, `${name}.ipynb`);
        assert.ok(fs.existsSync(file), `${file} was not written`);
        assert.deepEqual(notebookErrors(file), []);
        assert.equal(findFigures(file).length, expect.figures, 'figures shown');
        const { text, tables } = outputsText(file);
        assert.ok(
          tables >= expect.tables,
          `expected at least ${expect.tables} tables, found ${tables}`,
        );
        for (const re of expect.text) assert.match(text, re);
      });
    }

    it('metrics land in their valid ranges', () => {
      const sweep = JSON.parse(
        fs.readFileSync(path.join(out, 'sweep', 'sweep-summary.json'), 'utf8'),
      ) as { ranking: { accuracy: number; n: number }[] };
      for (const r of sweep.ranking) assert.ok(r.accuracy >= 0 && r.accuracy <= 1 && r.n > 0);
      const cmp = JSON.parse(
        fs.readFileSync(path.join(out, 'weighted', 'comparison.json'), 'utf8'),
      ) as { classWeights: number[]; rows: { accuracyA: number; accuracyB: number }[] };
      assert.equal(cmp.rows.length, 12);
      assert.ok(cmp.classWeights.every((w) => w > 0 && Number.isFinite(w)));
      for (const r of cmp.rows)
        assert.ok(r.accuracyA >= 0 && r.accuracyA <= 1 && r.accuracyB >= 0 && r.accuracyB <= 1);
      for (const split of ['painting', 'artist']) {
        const res = JSON.parse(
          fs.readFileSync(path.join(out, 'features', `results-by-${split}.json`), 'utf8'),
        ) as {
          models: { model: string; report: { anyMatchAccuracy: number; hammingLoss: number } }[];
        };
        assert.deepEqual(
          res.models.map((m) => m.model),
          ['SNN', 'BNN', 'Adam', 'GBNN'],
        );
        for (const m of res.models)
          assert.ok(
            m.report.anyMatchAccuracy >= 0 &&
              m.report.anyMatchAccuracy <= 1 &&
              m.report.hammingLoss >= 0 &&
              m.report.hammingLoss <= 1,
          );
      }
    });

    it('the report holds every figure, in notebook order', () => {
      const index = fs.readFileSync(path.join(out, 'reports', 'index.html'), 'utf8');
      const total = Object.values(EXPECTED).reduce((s, e) => s + e.figures, 0);
      const pngs = fs
        .readdirSync(path.join(out, 'reports'))
        .filter((f) => f.endsWith('.png'))
        .sort();
      assert.equal(pngs.length, total);
      assert.match(pngs[0] ?? '', /^01-01-data-prep-/);
      assert.match(pngs.at(-1) ?? '', /06-use-the-model/);
      for (const png of pngs) assert.ok(index.includes(png), `index.html shows ${png}`);
    });

    it('the nbconvert HTML of a notebook shows its figures in Chromium with no network', async () => {
      const seen = await figuresShownInHtml(path.join(executed, '03-block-sweep.html'));
      assert.equal(seen.figures, EXPECTED['03-block-sweep']?.figures);
      // Debian's nbconvert template links requirejs and MathJax from /usr/share/javascript, which
      // only its optional libjs-* packages provide; those misses are the template's, not ours.
      const ours = seen.errors.filter(
        (e) =>
          !/\/usr\/share\/javascript\/|Failed to load resource: net::ERR_FILE_NOT_FOUND/.test(e),
      );
      assert.deepEqual(ours, []);
    });
  },
);
