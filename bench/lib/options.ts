/**
 * The command line of a stand-alone bench script (`--name value` options and bare `--flag`s), read the
 * same way by every one of them.
 */

/** The value after `--name`, or `fallback` when the option is not given. */
export function option(name: string, fallback: string): string {
  const argv = process.argv.slice(2);
  const index = argv.indexOf(`--${name}`);
  return index >= 0 ? argv[index + 1]! : fallback;
}

/** Whether `--name` is given. */
export function flag(name: string): boolean {
  return process.argv.slice(2).includes(`--${name}`);
}

/** Where `--cpu-prof [DIR]` writes CPU profiles (bench/results/profiles by default); undefined without it. */
export function profileDir(): string | undefined {
  return flag('cpu-prof') ? option('cpu-prof', 'bench/results/profiles') : undefined;
}
