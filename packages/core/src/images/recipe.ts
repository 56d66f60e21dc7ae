import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { GoBinary, ImageRecipe } from '../contracts/image.js';

/** Bumped when the factory's output for the same recipe changes: every image rebuilds. */
export const FACTORY_VERSION = 3;

const envMap = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), z.string());
const absolutePath = z.string().regex(/^\/[^\0]*$/, 'must be an absolute path');
/** A path inside a module's tree: relative, no `..` segment. */
const relativePath = z.string().regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[^\0]+$/, 'must be a path relative to the module root, without ..');

const goBinarySchema = z.strictObject({
  module: z.string().regex(/^[a-zA-Z0-9.\-_~]+(\/[a-zA-Z0-9.\-_~+]+)*$/, 'must be a Go module path'),
  version: z.string().regex(/^v\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$/, 'must be a Go module version such as v1.2.3'),
  package: z.string().regex(/^(\.|[a-zA-Z0-9._\-~+]+(\/[a-zA-Z0-9._\-~+]+)*)$/, 'must be a package path relative to the module root').optional(),
  binary: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a file name'),
  dir: absolutePath.optional(),
  mode: z.number().int().min(0).max(0o7777).optional(),
  ldflags: z.array(z.string()).optional(),
  tags: z.array(z.string().regex(/^[A-Za-z0-9_.]+$/)).optional(),
  dropImports: z.array(z.string()).optional(),
  env: envMap.optional(),
  replace: z.record(z.string().min(1), z.string().regex(/^(stub|\S+ v\S+)$/, 'must be "stub" or "module/path vX.Y.Z"')).optional(),
  sums: z.array(z.string().regex(/^\S+ v\S+ h1:[A-Za-z0-9+/=]+$/, 'must be a go.sum line: "module/path version h1:hash"')).optional(),
  sourceFiles: z.array(z.strictObject({ path: relativePath, content: z.string() })).optional(),
  sourceEdits: z.array(z.strictObject({ file: relativePath, from: z.string().min(1), to: z.string() })).optional(),
  inTreeReplacesAt: z.string().regex(/^v\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$/, 'must be a Go module version such as v0.34.4').optional(),
  test: z.boolean().optional(),
  cgo: z.boolean().optional(),
  buildmode: z.enum(['exe', 'pie']).optional(),
  extldflags: z.string().regex(/^\S+( \S+)*$/, 'must be linker flags separated by single spaces').optional(),
});

const fileSchema = z
  .strictObject({
    path: absolutePath,
    content: z.string().optional(),
    link: z.string().min(1).optional(),
    source: absolutePath.optional(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 (64 lowercase hex digits)').optional(),
    mode: z.number().int().min(0).max(0o7777).optional(),
  })
  .refine((f) => [f.content, f.link, f.source].filter((v) => v !== undefined).length === 1, 'give exactly one of content, link or source')
  .refine((f) => (f.source === undefined) === (f.sha256 === undefined), 'a source file needs its sha256 (and only a source file has one)');

/** The shape of an ImageRecipe, checked before anything is built. */
export const imageRecipeSchema = z.strictObject({
  go: z.array(goBinarySchema).optional(),
  debianPackages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, 'must be a Debian package name')).optional(),
  files: z.array(fileSchema).optional(),
  shell: z.boolean().optional(),
  entrypoint: z.array(z.string()).optional(),
  cmd: z.array(z.string()).optional(),
  env: envMap.optional(),
  user: z.string().optional(),
  workdir: absolutePath.optional(),
  labels: z.record(z.string(), z.string()).optional(),
});

/** Problems with a recipe, as "field: message" lines (empty: valid). */
export function recipeProblems(recipe: unknown): string[] {
  const result = imageRecipeSchema.safeParse(recipe);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.') || '(recipe)'}: ${i.message}`);
}

/** JSON with object keys sorted, so equal recipes hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** What besides the recipe decides the bytes of a build. */
export interface Toolchain {
  /** `go env GOVERSION`, or '' when the recipe builds no Go. */
  go: string;
  /** GOARCH / Debian architecture. */
  arch: string;
  /** The C compiler's version (first line of `cc --version`), when a binary builds with cgo. */
  cc?: string;
}

/** The content address of an image: recipe, image name, toolchain and factory version. */
export function recipeHash(ref: string, recipe: ImageRecipe, toolchain: Toolchain): string {
  // a copied file counts by its checksum, not by where this checkout keeps it (another clone
  // has another path, and must not rebuild the image)
  const files = recipe.files?.map((f) => (f.source && f.sha256 ? { ...f, source: undefined } : f));
  return createHash('sha256')
    .update(canonicalJson({ factory: FACTORY_VERSION, ref, recipe: files ? { ...recipe, files } : recipe, toolchain }))
    .digest('hex')
    .slice(0, 16);
}

/** Checks one GoBinary (for binaries built outside an image). */
export function goBinaryProblems(binary: unknown): string[] {
  const result = goBinarySchema.safeParse(binary);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.') || '(binary)'}: ${i.message}`);
}

/** The content address of one Go binary, so images sharing a binary build it once. */
export function goBinaryHash(binary: GoBinary, toolchain: Toolchain): string {
  // where the image puts the binary, and its mode there, do not change it
  const inputs = { ...binary, dir: undefined, mode: undefined };
  // the C compiler only decides cgo builds: the others keep their address when it changes
  const tools = binary.cgo ? toolchain : { ...toolchain, cc: undefined };
  return createHash('sha256').update(canonicalJson({ factory: FACTORY_VERSION, inputs, toolchain: tools })).digest('hex').slice(0, 16);
}
