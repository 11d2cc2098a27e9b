import { GenericAsyncAPIConsumer } from '../dcrf/generic.js';
import { CreateModelMixin, DeleteModelMixin, ListModelMixin, PatchModelMixin, RetrieveModelMixin } from '../dcrf/mixins.js';
import { ObserverModelInstanceMixin } from '../dcrf/observers.js';
import { noteResource } from './resources.js';
import { ManyObserverMixin } from '../dcrf/many-observer.js';

/** `notes`: list, retrieve, create, patch, delete, instance subscriptions and `subscribe_many`, own notes only. */
export class NoteConsumer extends ManyObserverMixin(
  ObserverModelInstanceMixin(
    DeleteModelMixin(PatchModelMixin(CreateModelMixin(RetrieveModelMixin(ListModelMixin(GenericAsyncAPIConsumer))))),
  ),
) {
  static override resource = noteResource;
}
