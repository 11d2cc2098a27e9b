/**
 * TypeScript types from a serializer declaration, so a field is declared once:
 * `type Product = Infer<typeof ProductSerializer>` (what clients receive) and
 * `InferInput<typeof ProductSerializer>` (what they may send).
 */

type FieldsOf<S> = S extends { fields: infer F } ? F : never;
// Read structurally: a field's options may share no key with FieldOptions (`{ maxLength: 5 }`).
type OptionsOf<F> = F extends { readonly options: infer O } ? O : never;

/** The JSON type of one field's values (`| null` when it allows null). */
export type FieldType<F> = F extends { readonly $type: infer T; readonly options: infer O }
  ? O extends { allowNull: true }
    ? T | null
    : T
  : never;

/** The object a serializer shows: every field but the write-only ones. */
export type Infer<S> = {
  -readonly [K in keyof FieldsOf<S> as OptionsOf<FieldsOf<S>[K]> extends { writeOnly: true } ? never : K]: FieldType<FieldsOf<S>[K]>;
};

type Writable<S> = {
  [K in keyof FieldsOf<S>]: OptionsOf<FieldsOf<S>[K]> extends { readOnly: true } | { writeOnly: true; default: unknown } ? never : K;
}[keyof FieldsOf<S>];

type Optional<O> = O extends { required: false } ? true : O extends { default: unknown } ? true : false;

/** The object a serializer accepts on create: read-only and hidden fields left out, fields with a default or `required: false` optional. */
export type InferInput<S> = {
  -readonly [K in Writable<S> as Optional<OptionsOf<FieldsOf<S>[K]>> extends true ? never : K]: FieldType<FieldsOf<S>[K]>;
} & {
  -readonly [K in Writable<S> as Optional<OptionsOf<FieldsOf<S>[K]>> extends true ? K : never]?: FieldType<FieldsOf<S>[K]>;
};
