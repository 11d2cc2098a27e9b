/**
 * `products` (docs/demo.md): the DRF field set on one model. The serializer is what a DRF
 * `ModelSerializer` with a nested read-only school, a write-only `school_id` and a method field
 * would be; the consumer is full CRUD, instance subscriptions and `subscribe_many` (shaped like the
 * `things` stream's).
 */
import { action, type ActionArgs } from '../dcrf/actions.js';
import { GenericAsyncAPIConsumer, requireArg } from '../dcrf/generic.js';
import {
  CreateModelMixin,
  DeleteModelMixin,
  ListModelMixin,
  PatchModelMixin,
  RetrieveModelMixin,
  UpdateModelMixin,
} from '../dcrf/mixins.js';
import { consumerEventGate, frameKey, ObserverModelInstanceMixin } from '../dcrf/observers.js';
import { callSince, sinceOf, subscribedResult, trackSince } from '../dcrf/positions.js';
import { encodeValue, eventPrefix, STATUS, withRequestIdAt, type ActionResult } from '../dcrf/protocol.js';
import { AllowAny } from '../permissions.js';
import { Resource } from '../resources/resource.js';
import { formatDecimal, multiplyDecimals, parseDecimal, quantize, toDecimal } from '../serializers/decimal.js';
import { PrimaryKeyRelatedField } from '../serializers/fields/relations.js';
import { SerializerMethodField } from '../serializers/fields/misc.js';
import type { Infer, InferInput } from '../serializers/infer.js';
import { modelSerializer } from '../serializers/model-serializer.js';
import type { Row } from '../serializers/row.js';
import { Product, School } from './models.js';
import { SchoolSerializer } from './serializers.js';

const TAX = parseDecimal('1.2')!;

/**
 * DRF's twin:
 *
 *   class ProductSerializer(serializers.ModelSerializer):
 *       school = SchoolSerializer(read_only=True)
 *       school_id = serializers.PrimaryKeyRelatedField(queryset=School.objects.all(), source='school',
 *                                                      write_only=True, allow_null=True, required=False)
 *       price_with_tax = serializers.SerializerMethodField()
 *       class Meta:
 *           model = Product
 *           fields = ['id', 'uuid', 'name', 'slug', 'price', 'rating', 'kind', 'tags', 'released',
 *                     'homepage', 'school', 'school_id', 'updated_at', 'price_with_tax']
 *       def get_price_with_tax(self, obj):
 *           return str((obj.price * Decimal('1.2')).quantize(Decimal('0.01')))
 */
export class ProductSerializer extends modelSerializer(Product, {
  fields: [
    'id',
    'uuid',
    'name',
    'slug',
    'price',
    'rating',
    'kind',
    'tags',
    'released',
    'homepage',
    'school',
    'school_id',
    'updated_at',
    'price_with_tax',
  ],
  declared: {
    school: SchoolSerializer.field({ readOnly: true }),
    school_id: new PrimaryKeyRelatedField(() => School, { writeOnly: true, allowNull: true, required: false }),
    price_with_tax: new SerializerMethodField<string>(),
  },
}) {
  /** The price with 20% tax, exact, to the cent (ROUND_HALF_EVEN, as Python's quantize). */
  get_price_with_tax(row: Row): string | null {
    const price = typeof row.price === 'string' || typeof row.price === 'number' ? toDecimal(row.price) : undefined;
    return price ? formatDecimal(quantize(multiplyDecimals(price, TAX), 2)) : null;
  }
}

/** A product as the stream shows it (`price` "12.50", `school` {id, name} or null, ...). */
export type ProductData = Infer<typeof ProductSerializer>;
/** What a create may send. */
export type ProductInput = InferInput<typeof ProductSerializer>;

export const productResource = new Resource({ model: Product, serializer: ProductSerializer, permissions: [AllowAny] });

const CrudConsumer = ObserverModelInstanceMixin(
  DeleteModelMixin(PatchModelMixin(UpdateModelMixin(CreateModelMixin(RetrieveModelMixin(ListModelMixin(GenericAsyncAPIConsumer)))))),
);

/** `products`: CRUD, `subscribe_instance` and `subscribe_many` over Product. */
export class ProductConsumer extends CrudConsumer {
  static override resource = productResource;

  /** Made on first subscribe_many (idle sockets hold none). */
  #many: Map<string, () => void> | undefined;

  /** `subscribe_many {request_id}`: every create, update and delete of a product (a delete carries the last state, 204). */
  @action({ args: ['request_id', 'since'] })
  async subscribe_many(args: ActionArgs): Promise<ActionResult> {
    const requestId = requireArg(args, 'request_id');
    const key = this.clientKey('request_id', requestId);
    const since = sinceOf(args);
    this.#many?.get(key)?.();
    this.#many?.delete(key);
    const serializer = this.getSerializer();
    // One frame text per message in this process, whatever the number of subscribers.
    const memoKey = frameKey(serializer, 'many');
    const gate = consumerEventGate(this);
    const { close, position } = await trackSince(
      this,
      since,
      () =>
        this.resource.subscribeAll(callSince(this.resourceCall(args), since), (event) =>
          gate(event.action, event.message.data, () => {
            const status = event.action === 'delete' ? STATUS.noContent : STATUS.ok;
            const prefix = event.runtime.hub.memo(event.message, memoKey, () =>
              eventPrefix(event.action, JSON.stringify(serializer.toRepresentation(event.message.data)), status),
            );
            this.sendText(withRequestIdAt(prefix, requestId, since === undefined ? undefined : event.message.position));
          }),
        ),
      { bytes: key.length + encodeValue(args).length },
    );
    (this.#many ??= new Map()).set(key, close);
    return subscribedResult(position, STATUS.created);
  }

  /** `unsubscribe_many {request_id}` → 204. */
  @action({ args: ['request_id'] })
  async unsubscribe_many(args: ActionArgs): Promise<ActionResult> {
    const key = encodeValue(args.request_id ?? null);
    this.#many?.get(key)?.();
    this.#many?.delete(key);
    return [null, STATUS.noContent];
  }
}
