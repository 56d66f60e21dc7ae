/**
 * Module resolution hooks registered by the `local-cluster` bin: a plugin
 * package that imports `@local-cluster/*` at run time but was installed where
 * those packages are not (a project with only the plugin in node_modules) gets
 * the CLI's own copies, so there is one core and its apiVersions match.
 */
interface ResolveContext {
  parentURL?: string;
  conditions: string[];
  importAttributes: Record<string, string>;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<{ url: string }>;

let fallbackParent: string | undefined;

export function initialize(data: { fallbackParent: string }): void {
  fallbackParent = data.fallbackParent;
}

export async function resolve(specifier: string, context: ResolveContext, next: NextResolve): Promise<{ url: string }> {
  try {
    return await next(specifier, context);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && specifier.startsWith('@local-cluster/') && fallbackParent && context.parentURL !== fallbackParent) {
      return next(specifier, { ...context, parentURL: fallbackParent });
    }
    throw error;
  }
}
