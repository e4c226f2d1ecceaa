// The user guide's pages in reading order (later pages use ids the earlier ones captured), and the
// Markdown under docs/ that is not walked through, with the reason.

export const GUIDE = ["docs/README.md", "docs/concepts.md", "docs/importing-models.md", "docs/fine-tuning.md", "docs/hyperparameters.md", "docs/data-format.md", "docs/hosting.md", "docs/console.md", "docs/operating.md"];

/** api.md is the service's conventions page (its examples are flag synopses, not commands); reference.md
 * is generated and checked by reference.test.ts; study-* pages are reports written by tools/study. */
export const NOT_WALKED = [/^docs\/api\.md$/, /^docs\/reference\.md$/, /^docs\/study-/];
