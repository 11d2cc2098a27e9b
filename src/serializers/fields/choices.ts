/**
 * Choice fields (DRF 3.15): ChoiceField and MultipleChoiceField. Input is matched on its Python text
 * (`"1"` and `1` both pick the choice `1`), as DRF's `choice_strings_to_values` does.
 */
import { Field, FieldError, pythonStr, pythonTypeName, type FieldOptions } from './base.js';

/** A choice: a value, a `[value, label]` pair, or a `[group, [[value, label], ...]]` group; or an object of value → label. */
export type Choices = ReadonlyArray<unknown> | Readonly<Record<string, string>>;

export interface ChoiceFieldOptions extends FieldOptions {
  choices: Choices;
  /** `""` is accepted (and shown as is). */
  allowBlank?: boolean;
}

/** The choices as `[value, label]`, groups flattened (DRF's `flatten_choices_dict(to_choices_dict(...))`). */
export function flattenChoices(choices: Choices): Array<[unknown, unknown]> {
  if (!Array.isArray(choices)) return Object.entries(choices);
  const flat: Array<[unknown, unknown]> = [];
  for (const choice of choices as unknown[]) {
    if (!Array.isArray(choice)) flat.push([choice, choice]);
    else if (Array.isArray(choice[1])) flat.push(...flattenChoices(choice[1] as unknown[]));
    else flat.push([choice[0], choice[1]]);
  }
  return flat;
}

/** The value type of a choices declaration (`['book', 'music'] as const` → `'book' | 'music'`). */
export type ChoiceValue<C> =
  C extends ReadonlyArray<infer E>
    ? E extends readonly [infer V, infer L]
      ? L extends ReadonlyArray<unknown>
        ? ChoiceValue<L>
        : V
      : E
    : C extends Readonly<Record<infer K, string>>
      ? K
      : unknown;

/** What ChoiceField and MultipleChoiceField share: the choices by their Python text. */
abstract class ChoiceBase<T, const O extends ChoiceFieldOptions> extends Field<T, O> {
  /** Each choice's value by its Python text. */
  protected readonly byText: Map<string, unknown>;
  readonly allowBlank: boolean;

  constructor(options: O) {
    super(options);
    this.byText = new Map(flattenChoices(options.choices).map(([value]) => [pythonStr(value), value]));
    this.allowBlank = options.allowBlank ?? false;
  }

  /** The choices' values, in order. */
  get values(): unknown[] {
    return [...this.byText.values()];
  }

  /** One input value → its choice, or the `invalid_choice` FieldError. */
  protected choose(value: unknown): unknown {
    if (value === '' && this.allowBlank) return '';
    const text = pythonStr(value);
    if (!this.byText.has(text)) throw new FieldError([this.message('invalid_choice', { input: text })]);
    return this.byText.get(text);
  }

  /** One stored value → the choice it names (as the choice is typed), or itself. */
  protected show(value: unknown): unknown {
    if (value === '' || value === null) return value;
    const text = pythonStr(value);
    return this.byText.has(text) ? this.byText.get(text) : value;
  }
}

/** DRF's ChoiceField. */
export class ChoiceField<const O extends ChoiceFieldOptions = ChoiceFieldOptions> extends ChoiceBase<ChoiceValue<O['choices']>, O> {
  static override defaultErrorMessages: Record<string, string> = { invalid_choice: '"{input}" is not a valid choice.' };

  override toInternal(value: unknown): unknown {
    return this.choose(value);
  }

  override toRepresentation(value: unknown): unknown {
    return this.show(value);
  }
}

export interface MultipleChoiceFieldOptions extends ChoiceFieldOptions {
  /** `[]` is accepted (default true). */
  allowEmpty?: boolean;
}

/** DRF's MultipleChoiceField: a list of choices, each kept once (DRF returns a set; the order of first appearance is kept here). */
export class MultipleChoiceField<const O extends MultipleChoiceFieldOptions = MultipleChoiceFieldOptions> extends ChoiceBase<
  Array<ChoiceValue<O['choices']>>,
  O
> {
  static override defaultErrorMessages: Record<string, string> = {
    invalid_choice: '"{input}" is not a valid choice.',
    not_a_list: 'Expected a list of items but got type "{input_type}".',
    empty: 'This selection may not be empty.',
  };

  override toInternal(value: unknown): unknown {
    // Python iterates a dict's keys; strings and scalars are not lists.
    const items = Array.isArray(value) ? value : value !== null && typeof value === 'object' ? Object.keys(value) : undefined;
    if (!items) this.fail('not_a_list', { input_type: pythonTypeName(value) });
    if (items.length === 0 && this.options.allowEmpty === false) this.fail('empty');
    return [...new Set(items.map((item) => this.choose(item)))];
  }

  override toRepresentation(value: unknown): unknown {
    const items = typeof value === 'string' ? parseJsonList(value) : value;
    if (!Array.isArray(items)) return value;
    return [...new Set(items.map((item) => this.show(item)))];
  }
}

/** A list stored as JSON text (SQLite), or undefined. */
export function parseJsonList(text: string): unknown[] | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
