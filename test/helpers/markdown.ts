/** Reading code out of the documentation (the docs' examples are tested as written). */

/** The ```ts blocks of a markdown text, in order. */
export function typescriptBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1] as string);
}

/** A fenced code block: its language, the file name after it (```json package.json) or '', its text. */
export interface FencedBlock {
  language: string;
  name: string;
  code: string;
}

/** Every fenced code block of a markdown text, in order. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  return [...markdown.matchAll(/^```(\S*)[ \t]*(\S*)[ \t]*\n([\s\S]*?)^```$/gm)].map((match) => ({
    language: match[1] as string,
    name: match[2] as string,
    code: match[3] as string,
  }));
}

/** The one block named `name` (```json package.json): the file a page tells the reader to write. */
export function namedBlock(markdown: string, name: string): string {
  const found = fencedBlocks(markdown).filter((block) => block.name === name);
  if (found.length !== 1) throw new Error(`the page has ${found.length} blocks named ${name}, not one`);
  return (found[0] as FencedBlock).code;
}

/** The commands of the ```sh blocks, in order: one per line, comments and blank lines left out. */
export function shellCommands(markdown: string): string[] {
  return fencedBlocks(markdown)
    .filter((block) => block.language === 'sh')
    .flatMap((block) => block.code.split('\n'))
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);
}
