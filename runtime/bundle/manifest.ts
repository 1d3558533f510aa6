// The manifest schema of a model bundle (docs/bundle-format.md), validated with zod.
import * as z from 'zod';

/** Schema versions this runtime reads. */
export const SUPPORTED_SCHEMA_VERSIONS = [1] as const;
/** Tokenizers this runtime reproduces exactly. */
export const SUPPORTED_TOKENIZERS = ['basic_english'] as const;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
const fileName = z
  .string()
  .min(1)
  .refine((name) => !name.includes('/') && !name.includes('\\') && name !== '..' && name !== '.', {
    message: 'must be a plain file name inside the bundle',
  });
const dim = z.union([z.number().int().positive(), z.string().min(1)]);

const valueInfo = z.strictObject({
  name: z.string().min(1),
  dtype: z.enum(['int64', 'int32', 'float32']),
  shape: z.array(dim).min(1),
});

/**
 * A record keyed by label. zod's `record` assigns each key to a plain object, so a label named `__proto__` would
 * vanish (the assignment sets the prototype instead); this keeps every own key, in an object with no prototype.
 */
function byLabel<T extends z.ZodType>(value: T) {
  return z.unknown().transform((input, ctx) => {
    const out = Object.create(null) as Record<string, z.output<T>>;
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      ctx.addIssue({ code: 'custom', message: 'must be an object keyed by label', input });
      return z.NEVER;
    }
    for (const [key, entry] of Object.entries(input)) {
      const parsed = value.safeParse(entry);
      if (parsed.success) out[key] = parsed.data;
      else for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [key, ...issue.path] });
    }
    return out;
  });
}

const specialToken = z.strictObject({ token: z.string().min(1), id: z.number().int().nonnegative() });

/** The dim_param of axis 1 of every sequence input in a graph that takes any length from 1 to maxLen. */
export const SEQUENCE_AXIS = 'sequence';

/**
 * `model.sequence` (optional; bundles without it have a fixed-length graph): whether the graph takes any padded length
 * from 1 to `preprocessing.maxLen`, and the exporter's proof of it: the lengths it ran the graph at, the largest
 * difference from the maxLen run of the same texts, and the tolerance that difference had to meet.
 */
const sequence = z.discriminatedUnion('dynamic', [
  z
    .strictObject({
      dynamic: z.literal(true),
      checkedLengths: z.array(z.number().int().positive()).min(1),
      maxAbsDiff: z.number().nonnegative(),
      atol: z.number().positive(),
    })
    .refine((s) => s.checkedLengths.every((n, i) => i === 0 || n > (s.checkedLengths[i - 1] as number)), {
      message: 'checkedLengths must be strictly ascending',
      path: ['checkedLengths'],
    })
    .refine((s) => s.maxAbsDiff <= s.atol, {
      message: 'maxAbsDiff exceeds atol: the dynamic graph was not proven',
      path: ['maxAbsDiff'],
    }),
  z.strictObject({ dynamic: z.literal(false) }),
]);

export const manifestSchema = z.strictObject({
  schemaVersion: z.literal(1),
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lowercase letters, digits and dashes'),
  version: z.string().regex(/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/, 'must be a semantic version'),
  createdAt: z.iso.datetime({ offset: true }),
  task: z.literal('text-classification'),
  files: z.record(fileName, z.strictObject({ sha256, size: z.number().int().nonnegative() })),
  model: z.strictObject({
    file: fileName,
    opset: z.number().int().min(17),
    inputs: z.array(valueInfo.extend({ role: z.enum(['input_ids', 'attention_mask']) })).min(1),
    // 'probabilities': the model ends in softmax (or similar), so the runtime serves its outputs as they are.
    outputs: z.array(valueInfo.extend({ role: z.enum(['logits', 'probabilities']) })).length(1),
    sequence: sequence.optional(),
  }),
  preprocessing: z.strictObject({
    tokenizer: z.string().min(1),
    lowercase: z.boolean(),
    normalization: fileName,
    vocab: fileName,
    maxLen: z.number().int().positive().max(4096),
    truncation: z.enum(['right', 'left']),
    padding: z.enum(['right', 'left']),
    specialTokens: z.strictObject({ unk: specialToken, pad: specialToken }),
  }),
  labels: z.array(z.string().min(1)).min(2),
  metrics: z.strictObject({
    split: z.string().min(1),
    examples: z.number().int().positive(),
    accuracy: z.number().min(0).max(1),
    oovRate: z.number().min(0).max(1),
  }),
  reference: z.strictObject({
    tokenLength: z.strictObject({
      edges: z.array(z.number().int().nonnegative()).min(2),
      counts: z.array(z.number().int().nonnegative()),
    }),
    labelDistribution: byLabel(z.number().min(0).max(1)),
    oovRate: z.number().min(0).max(1),
    truncationRate: z.number().min(0).max(1),
  }),
  parity: z.strictObject({
    file: fileName,
    cases: z.number().int().nonnegative(),
    atol: z.number().positive(),
  }),
  // Optional (bundles exported before it lack it): how often the model was right at each confidence on a held-out
  // split, for estimating accuracy from confidence alone when no labels arrive (histogram binning).
  calibration: z
    .strictObject({
      split: z.string().min(1),
      examples: z.number().int().positive(),
      method: z.literal('histogram-binning'),
      /** Bin edges of the top label's probability, ascending, first >= 0 and last 1; k bins have k + 1 edges. */
      edges: z.array(z.number().min(0).max(1)).min(2),
      /** Examples of the split whose confidence fell in each bin. */
      counts: z.array(z.number().int().nonnegative()),
      /** Share of those the model classified correctly, per bin (0 for an empty bin). */
      accuracy: z.array(z.number().min(0).max(1)),
    })
    .refine((c) => c.counts.length === c.edges.length - 1 && c.accuracy.length === c.edges.length - 1, {
      message: 'counts and accuracy need one entry per bin (edges.length - 1)',
    })
    .refine((c) => c.edges.every((edge, i) => i === 0 || edge > (c.edges[i - 1] as number)), {
      message: 'edges must be strictly ascending',
    })
    .optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestValueInfo = Manifest['model']['inputs'][number] | Manifest['model']['outputs'][number];

/** The lower-case mapping, whitespace and final-sigma record of the training interpreter. */
const codePointRange = z.tuple([
  z.number().int().min(0).max(0x10ffff),
  z.number().int().min(0).max(0x10ffff),
]);
export const normalizationSchema = z.strictObject({
  source: z.string(),
  unicodeVersion: z.string(),
  lower: z.array(z.tuple([z.number().int().min(0).max(0x10ffff), z.string()])),
  whitespace: z.array(codePointRange).min(1),
  finalSigma: z.strictObject({ caseIgnorable: z.array(codePointRange), cased: z.array(codePointRange) }),
});
export type NormalizationRecord = z.infer<typeof normalizationSchema>;

/** One golden case of parity.jsonl. */
export const parityCaseSchema = z.strictObject({
  id: z.number().int().nonnegative(),
  tags: z.array(z.string()),
  text: z.string(),
  tokens: z.array(z.string()),
  ids: z.array(z.number().int().nonnegative()),
  logits: z.array(z.number()),
  label: z.string(),
});
export type ParityCase = z.infer<typeof parityCaseSchema>;

/** Formats zod issues as `path: message` lines, for error messages that name the bad field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
