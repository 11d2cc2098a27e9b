/**
 * dcrf-gateway: the public API. Everything exported here is documented in the README.
 */
export {
  APIError,
  ValidationError,
  NON_FIELD_ERRORS,
  flattenDetail,
  type ErrorDetail,
  NotFound,
  PermissionDenied,
  NotAuthenticated,
  MethodNotAllowed,
  Throttled,
  BadRequest,
  DatabaseBusy,
  DATABASE_BUSY_MESSAGE,
  type FieldErrors,
} from './errors.js';
export {
  BasePermission,
  AllowAny,
  IsAuthenticated,
  allOf,
  anyOf,
  not,
  toPermission,
  checksObjects,
  mayReceiveEvent,
  type PermissionLike,
  type PermissionRequest,
} from './permissions.js';
export { setLogger, getLogger, LOG_LEVELS, type Logger, type LogFn, type LogLevel } from './logger.js';
export type { ConnectionScope, AuthUser } from './scope.js';
export {
  Field,
  FieldError,
  ContextDefault,
  SKIP,
  CharField,
  EmailField,
  RegexField,
  SlugField,
  URLField,
  IPAddressField,
  IntegerField,
  FloatField,
  DecimalField,
  DateField,
  DateTimeField,
  TimeField,
  DurationField,
  ChoiceField,
  MultipleChoiceField,
  ListField,
  DictField,
  JSONField,
  BooleanField,
  UUIDField,
  ReadOnlyField,
  HiddenField,
  SerializerMethodField,
  CurrentUserDefault,
  CreateOnlyDefault,
  PrimaryKeyRelatedField,
  INTEGER_RANGE,
  UniqueValidator,
  UniqueTogetherValidator,
  UniqueCheck,
  pythonTypeName,
  type FieldOptions,
  type FieldValidator,
  type ValidationContext,
  type BoundField,
  type CharFieldOptions,
  type RegexFieldOptions,
  type SlugFieldOptions,
  type IPAddressFieldOptions,
  type IntegerFieldOptions,
  type FloatFieldOptions,
  type DecimalFieldOptions,
  type DateFieldOptions,
  type DateTimeFieldOptions,
  type TimeFieldOptions,
  type DurationFieldOptions,
  type ChoiceFieldOptions,
  type MultipleChoiceFieldOptions,
  type Choices,
  type ListFieldOptions,
  type DictFieldOptions,
  type JSONFieldOptions,
  type UUIDFieldOptions,
  type SerializerMethodFieldOptions,
  type PrimaryKeyRelatedFieldOptions,
  type Queryset,
  type SerializerValidator,
  type SerializerValidationContext,
  type UniqueValidatorOptions,
  type UniqueTogetherValidatorOptions,
} from './serializers/fields.js';
export {
  parseDecimal,
  formatDecimal,
  quantize,
  compareDecimals,
  multiplyDecimals,
  toDecimal,
  type Decimal,
  type Rounding,
} from './serializers/decimal.js';
export type { Infer, InferInput, FieldType } from './serializers/infer.js';
export { Serializer, serializerInstance, type SerializerClass, type SerializerOptions, type Row } from './serializers/serializer.js';
export {
  modelSerializer,
  type ModelSerializerOptions,
  type ModelColumns,
  type ColumnInfo,
  type ModelSerializerClass,
  type ModelFields,
} from './serializers/model-serializer.js';
export { embedRelated, carriesRelated } from './models/related.js';
export {
  Resource,
  resourceCall,
  type ResourceOptions,
  type ResourceCall,
  type ResourceCallOptions,
  type OperationHooks,
  type ResourceEvent,
  type ResourceEventHandler,
  type ResourceEventSink,
  type RowSource,
  type SubscriptionKind,
  type AnyQuery,
} from './resources/resource.js';
export { InOrder } from './resources/in-order.js';
export { ChangeLogOff, Runtime, type PositionSource, type RuntimeOptions } from './runtime.js';
export {
  equalityScope,
  scopedChange,
  type RowScope,
  type RowScopeOption,
  type RowFilter,
  type ColumnValue,
  type ScopedChange,
} from './resources/row-scope.js';
export { resolveLimit, resolveOffset, type Page, type PaginationSettings } from './resources/pagination.js';
export { LiveModel, WrittenRows } from './models/live-model.js';
export { isLiveModel, assertLiveModel } from './models/live-model-check.js';
export { StartupCheckError, checkStreams } from './server/startup-checks.js';
export { LiveQueryBuilder } from './models/live-query-builder.js';
export { ChangeHub, type ChangeHubOptions, type ChangeMessage, type HubStats, type PositionedUnsubscribe } from './events/hub.js';
export {
  ChangeLog,
  changeLogMigration,
  changeLogRowidMigration,
  PositionError,
  type ChangeLogStats,
  type LogEntry,
  type Position,
} from './events/change-log.js';
export { captureMigration, installCapture, removeCapture } from './events/capture/migration.js';
export { CAPTURE_TABLE, type CaptureMode, type CapturableModel, type CapturedTable } from './events/capture/registry.js';
export { DatabaseCapture } from './events/capture/database-capture.js';
export { CAPTURE_CHANNEL } from './events/capture/postgres-triggers.js';
export { DEFAULT_CAPTURE_CHECK_MS } from './events/capture/wake.js';
export { relativeGroups, relativeGroupsOf, type RowGrouping, type GroupsForRow } from './events/groups.js';
export { RedisModelInterest, type ModelInterest } from './events/interest.js';
export { isInvalidValueError } from './db/knex.js';
export {
  ChangeSet,
  mergeRecords,
  isTruncate,
  resyncReason,
  type ChangeRecord,
  type ChangeAction,
  type RowChangeMessage,
  type TruncateMessage,
} from './events/records.js';
export { RESYNC_ACTION, resyncPrefix } from './dcrf/resync.js';
export { RESYNC, resyncError, eventSink, StreamEventSink } from './graphql/resync.js';
export {
  action,
  registerAction,
  groupHandler,
  registerGroupHandler,
  type ActionOptions,
  type ActionContext,
  type ActionArgs,
  type ActionSpec,
} from './dcrf/actions.js';
export { AsyncAPIConsumer, type ConsumerClass, type ConsumerTransport, type GroupMessage, type SubscriptionCost } from './dcrf/consumer.js';
export { GenericAsyncAPIConsumer, requirePk, requireArg } from './dcrf/generic.js';
export {
  ListModelMixin,
  PaginatedModelListMixin,
  StreamedPaginatedListMixin,
  RetrieveModelMixin,
  CreateModelMixin,
  UpdateModelMixin,
  PatchModelMixin,
  DeleteModelMixin,
} from './dcrf/mixins.js';
export {
  ObserverModelInstanceMixin,
  ModelObserver,
  modelObserver,
  Signal,
  SignalObserver,
  observer,
  type ObservedEvent,
  type InstanceSubscription,
  type ModelObserverOptions,
  type SignalObserverOptions,
} from './dcrf/observers.js';
export { ManyObserverMixin, type ManyObserverOptions } from './dcrf/many-observer.js';
export { viewAsConsumer, type FetchHandler, type ViewAsConsumerOptions } from './dcrf/view-as-consumer.js';
export {
  encodeReply,
  eventPrefix,
  withRequestId,
  withRequestIdAt,
  STATUS,
  MESSAGES,
  CLOSE,
  POSITION_KEYS,
  PositionExpired,
  type ActionResult,
} from './dcrf/protocol.js';
export {
  sinceOf,
  callSince,
  trackSince,
  subscribedResult,
  readAnchor,
  anchoredResult,
  positionsOff,
  type TrackedSubscription,
} from './dcrf/positions.js';
export {
  DEFAULT_DCRF_LIMITS,
  USER_GONE_CLOSE,
  type DcrfLimits,
  type SessionObserver,
  type UserCheck,
  type UserCheckAnswer,
} from './dcrf/session.js';
export { GatewayMetrics, combineObservers, type GatewayMetricsOptions, type LimitName, type DropReason } from './server/metrics.js';
export { UserRecheck } from './auth/user-recheck.js';
export { redactUrl } from './auth/redact.js';
export { Gateway, sendJson, type GatewayOptions, type HttpRoute } from './server/gateway.js';
export { tokenFromRequest, tokenFromPayload, tokenFromAuthorization } from './auth/tokens.js';
export { resolveToken, type Authenticator, type AuthResult } from './auth/authenticator.js';
export { describeStreams, streamsRoute } from './server/describe.js';
export { playgroundRoute, type PlaygroundOptions } from './server/playground.js';
export { openDatabase, knexConfig, databaseKind, DEFAULT_DATABASE_URL, sqliteBusyStats, type DatabaseOptions } from './db/knex.js';
export { DEFAULT_BUSY_TIMEOUT_MS, type BusyStats } from './db/sqlite-busy.js';
export {
  MIN_SIGNAL_TOKEN_LENGTH,
  DEFAULT_SIGNAL_MAX_BODY_BYTES,
  DEFAULT_SIGNAL_RATE_PER_SECOND,
  type SendableSignal,
  type SignalEndpointOptions,
  type SignalLimit,
} from './server/signal-endpoint.js';
export { migrate, type Migration } from './db/migrations.js';
export { loadConfig, type Config } from './config.js';
export {
  createApp,
  defineApp,
  openAppDatabase,
  DEFAULT_APP_DATABASE_URL,
  type App,
  type AppOptions,
  type AppDatabase,
  type AppModuleExport,
  type ListenOptions,
  type TokenIssuer,
} from './app.js';
export { createGraphQLAdapter, GraphQLGatewayAdapter, type GraphQLAdapterOptions } from './graphql/adapter.js';
export { GRAPHQL_TRANSPORT_WS, GRAPHQL_WS_LEGACY, type GraphQLAdapter, type GraphQLSubprotocol } from './graphql/gateway-adapter.js';
export {
  bindResource,
  buildGraphQLSchema,
  printSDL,
  mergeResolverMaps,
  liveField,
  liveStreamField,
  eventMapper,
  subscriptionCall,
  asCaller,
  pkAsId,
  type ResourceBinding,
  type ResolverMap,
  type SchemaDeclaration,
  type GraphQLChangeEvent,
} from './graphql/bind.js';
export {
  changePositionResolvers,
  CHANGE_MODELS_EXTENSION,
  CHANGE_POSITION_FIELD,
  POSITION_EXPIRED,
  POSITIONS_OFF,
  readsModels,
} from './graphql/positions.js';
export { DecimalScalar, DateScalar, DateTimeScalar, UUIDScalar, URLScalar, JSONScalar, drfScalarResolvers } from './graphql/scalars.js';
export { GraphQLEngine, type GraphQLContext, type OperationParams, type EngineOptions } from './graphql/engine.js';
export { DEFAULT_GRAPHQL_LIMITS, checkLimits, type GraphQLLimits } from './graphql/limits.js';
export { DocumentCache } from './graphql/cache.js';
export { LiveStream, StreamBudget, openLiveStream, openLiveStreamOf, type StreamSink } from './graphql/live-stream.js';
export { EventDelivery, socketTarget, type DeliveryTarget, type DeliveryOptions } from './graphql/event-delivery.js';
export { SocketOutput, SLOW_CONSUMER_CLOSE } from './graphql/socket-output.js';
export { DEFAULT_SOCKET_LIMITS, type GraphQLSocketLimits, type RateLimiter, type SocketObserver } from './graphql/socket-limits.js';
export { SocketUser, type CurrentUser } from './graphql/socket-user.js';
export { formatError as formatGraphQLError, SubscriptionOverflow } from './graphql/errors.js';
