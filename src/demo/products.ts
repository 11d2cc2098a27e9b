import { GenericAsyncAPIConsumer } from '../dcrf/generic.js';
import {
  CreateModelMixin,
  DeleteModelMixin,
  ListModelMixin,
  PatchModelMixin,
  RetrieveModelMixin,
  UpdateModelMixin,
} from '../dcrf/mixins.js';
import { ObserverModelInstanceMixin } from '../dcrf/observers.js';
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
import { ManyObserverMixin } from '../dcrf/many-observer.js';

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
export class ProductConsumer extends ManyObserverMixin(CrudConsumer) {
  static override resource = productResource;
}
