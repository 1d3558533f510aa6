// Writes a plan's files: plan.md, plan.json (validated), plan-load.svg and the validated Kubernetes manifests.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderSvg } from '../../bench/charts.ts';
import { planLoadSpec } from './chart.ts';
import { buildManifests, manifestYaml, validateManifests } from './manifests.ts';
import { planMarkdown } from './markdown.ts';
import { parsePlan, type Plan } from './schema.ts';

/**
 * Writes the plan into `outDir` and returns it with `files` (relative to `outDir`) filled in. Every manifest is
 * validated, and the plan parsed against its schema, before anything is written: an invalid one writes nothing.
 * @throws PlanError PLAN_MANIFEST_INVALID, or PLAN_INVALID for a plan that fails its schema.
 */
export async function writePlan(plan: Plan, outDir: string): Promise<Plan> {
  const manifests = plan.node === null ? null : buildManifests(plan);
  if (manifests !== null) validateManifests(manifests);
  const spec = planLoadSpec(plan);
  const files = [
    'plan.md',
    'plan.json',
    ...(spec === null ? [] : ['plan-load.svg']),
    ...(manifests === null ? [] : Object.keys(manifests).map((f) => `k8s/${f}`)),
  ];
  const written = parsePlan({ ...plan, files }, 'the plan being written');
  const svg = spec === null ? null : await renderSvg(spec);
  await mkdir(manifests === null ? outDir : join(outDir, 'k8s'), { recursive: true });
  await writeFile(join(outDir, 'plan.json'), `${JSON.stringify(written, null, 2)}\n`);
  await writeFile(join(outDir, 'plan.md'), planMarkdown(written));
  if (svg !== null) await writeFile(join(outDir, 'plan-load.svg'), svg);
  if (manifests !== null) {
    for (const [file, manifest] of Object.entries(manifests))
      await writeFile(join(outDir, 'k8s', file), manifestYaml(manifest as { toJSON(): unknown }, written));
  }
  return written;
}
