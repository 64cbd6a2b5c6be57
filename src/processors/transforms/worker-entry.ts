import * as nodeModule from 'node:module';
import type { ResolveFnOutput, ResolveHookContext } from 'node:module';

/**
 * The script a transform worker thread starts with: installs this thread's module resolution
 * hooks, then runs the worker (`transform-worker.ts`).
 *
 * Two resolutions Node does not make by itself:
 * - `import … from 'sluice'` finds the transform kit even when the transforms directory is
 *   outside Sluice's package (where the package self-reference does not reach), so transforms
 *   can live anywhere;
 * - in TypeScript, `./helper.js` finds `./helper.ts` when there is no `helper.js`: the usual
 *   way to write imports for `tsc`, which Node's type stripping does not map. That is also how
 *   this thread runs Sluice's own source under vitest, when this file is `worker-entry.ts`.
 *
 * This file therefore imports nothing of its own statically: a relative import would be
 * resolved before the hooks exist.
 */

const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** The transform kit beside this file. */
const KIT_URL = new URL(FROM_SOURCE ? './transform-kit.ts' : './transform-kit.js', import.meta.url)
  .href;

function isModuleNotFound(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND'
  );
}

/** `./x.js` → `./x.ts`, `./x.mjs` → `./x.mts`; undefined for other specifiers. */
function typeScriptSibling(specifier: string, parentUrl: string | undefined): string | undefined {
  if (parentUrl === undefined || !/\.m?ts$/.test(parentUrl)) return undefined;
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return undefined;
  if (specifier.endsWith('.js')) return `${specifier.slice(0, -3)}.ts`;
  if (specifier.endsWith('.mjs')) return `${specifier.slice(0, -4)}.mts`;
  return undefined;
}

// registerHooks came with Node 22.15; on an older Node transforms resolve as Node does.
nodeModule.registerHooks?.({
  resolve(
    specifier: string,
    context: ResolveHookContext,
    nextResolve: (specifier: string, context?: Partial<ResolveHookContext>) => ResolveFnOutput,
  ): ResolveFnOutput {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (!isModuleNotFound(error)) throw error;
      if (specifier === 'sluice') return { url: KIT_URL, shortCircuit: true };
      const sibling = typeScriptSibling(specifier, context.parentURL);
      if (sibling === undefined) throw error;
      try {
        return nextResolve(sibling, context);
      } catch {
        // The message about the specifier as written is the one that helps.
        throw error;
      }
    }
  },
});

// Under vitest the hook above maps this to transform-worker.ts.
await import('./transform-worker.js');
