/** Reading code out of the documentation (the docs' examples are tested as written). */

/** The ```ts blocks of a markdown text, in order. */
export function typescriptBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1] as string);
}
