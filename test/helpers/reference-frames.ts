/**
 * Excerpts of the reference transcript (frames captured from the real DCRF serving the demo app's
 * streams, the frames recorded from DCRF), verbatim, for sections whose frames are deterministic on one
 * socket: replayed by test/e2e/dcrf-reference.test.ts. Notation: `X → ` a frame the client sent,
 * `X ← ` a frame received, `⇢ CONNECT` the upgrade; `# ...` comments; `(other process)` a write made
 * outside the socket.
 */

export interface ReferenceSection {
  title: string;
  transcript: string;
}

export const REFERENCE_SECTIONS: ReferenceSection[] = [
  {
    title: 'things: CRUD and error replies (socket A on /ws/things/)',
    transcript: String.raw`A ⇢ CONNECT /ws/things/
A ⇠ OPEN (101)
A → {"action":"list","request_id":1}
A ← {"errors": [], "data": [], "action": "list", "response_status": 200, "request_id": 1}
A → {"action":"create","data":{"name":"alpha"},"request_id":2}
A ← {"errors": [], "data": {"pk": 1, "name": "alpha", "counter": 0}, "action": "create", "response_status": 201, "request_id": 2}
A → {"action":"create","data":{"name":"beta","counter":5},"request_id":3}
A ← {"errors": [], "data": {"pk": 2, "name": "beta", "counter": 5}, "action": "create", "response_status": 201, "request_id": 3}
A → {"action":"create","data":{},"request_id":4}   # missing required field
A ← {"errors": [{"name": ["This field is required."]}], "data": null, "action": "create", "response_status": 400, "request_id": 4}
A → {"action":"create","data":{"name":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","counter":"abc"},"request_id":5}   # too long + wrong type
A ← {"errors": [{"name": ["Ensure this field has no more than 64 characters."], "counter": ["A valid integer is required."]}], "data": null, "action": "create", "response_status": 400, "request_id": 5}
A → {"action":"create","data":{"name":""},"request_id":6}   # blank
A ← {"errors": [{"name": ["This field may not be blank."]}], "data": null, "action": "create", "response_status": 400, "request_id": 6}
A → {"action":"create","data":null,"request_id":7}   # data null
A ← {"errors": [{"non_field_errors": ["No data provided"]}], "data": null, "action": "create", "response_status": 400, "request_id": 7}
A → {"action":"create","data":"str","request_id":8}   # data not an object
A ← {"errors": [{"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}], "data": null, "action": "create", "response_status": 400, "request_id": 8}
A → {"action":"create","data":[1],"request_id":9}   # data a list
A ← {"errors": [{"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}], "data": null, "action": "create", "response_status": 400, "request_id": 9}
A → {"action":"list","request_id":10}
A ← {"errors": [], "data": [{"pk": 1, "name": "alpha", "counter": 0}, {"pk": 2, "name": "beta", "counter": 5}], "action": "list", "response_status": 200, "request_id": 10}
A → {"action":"retrieve","pk":1,"request_id":11}
A ← {"errors": [], "data": {"pk": 1, "name": "alpha", "counter": 0}, "action": "retrieve", "response_status": 200, "request_id": 11}
A → {"action":"retrieve","pk":9999,"request_id":12}   # unknown pk
A ← {"errors": ["Not found"], "data": null, "action": "retrieve", "response_status": 404, "request_id": 12}
A → {"action":"retrieve","pk":"abc","request_id":13}   # wrongly typed pk
A ← {"errors": ["Not found"], "data": null, "action": "retrieve", "response_status": 404, "request_id": 13}
A → {"action":"update","pk":1,"data":{"name":"alpha2","counter":1},"request_id":14}
A ← {"errors": [], "data": {"pk": 1, "name": "alpha2", "counter": 1}, "action": "update", "response_status": 200, "request_id": 14}
A → {"action":"update","pk":1,"data":{"counter":2},"request_id":15}   # update is a full update: name required
A ← {"errors": [{"name": ["This field is required."]}], "data": null, "action": "update", "response_status": 400, "request_id": 15}
A → {"action":"update","pk":9999,"data":{"name":"zz"},"request_id":16}   # unknown pk
A ← {"errors": ["Not found"], "data": null, "action": "update", "response_status": 404, "request_id": 16}
A → {"action":"patch","pk":1,"data":{"counter":3},"request_id":17}
A ← {"errors": [], "data": {"pk": 1, "name": "alpha2", "counter": 3}, "action": "patch", "response_status": 200, "request_id": 17}
A → {"action":"patch","pk":1,"data":{"counter":"x"},"request_id":18}   # validation
A ← {"errors": [{"counter": ["A valid integer is required."]}], "data": null, "action": "patch", "response_status": 400, "request_id": 18}
A → {"action":"patch","pk":9999,"data":{"counter":"x"},"request_id":19}   # unknown pk beats bad data
A ← {"errors": ["Not found"], "data": null, "action": "patch", "response_status": 404, "request_id": 19}
A → {"action":"delete","pk":2,"request_id":20}
A ← {"errors": [], "data": null, "action": "delete", "response_status": 204, "request_id": 20}
A → {"action":"delete","pk":2,"request_id":21}   # already deleted
A ← {"errors": ["Not found"], "data": null, "action": "delete", "response_status": 404, "request_id": 21}
A → {"action":"nope","request_id":22}   # unknown action
A ← {"errors": ["Method \"nope\" not allowed."], "data": null, "action": "nope", "response_status": 405, "request_id": 22}
A → {"pk":1,"request_id":23}   # missing action
A ← {"errors": ["Unable to find action in message body."], "data": null, "action": null, "response_status": 405, "request_id": 23}
A → {"action":"retrieve","pk":1}   # no request_id
A ← {"errors": [], "data": {"pk": 1, "name": "alpha2", "counter": 3}, "action": "retrieve", "response_status": 200, "request_id": null}
A → {"action":"retrieve","pk":1,"request_id":"uuid-like-string"}   # string request_id
A ← {"errors": [], "data": {"pk": 1, "name": "alpha2", "counter": 3}, "action": "retrieve", "response_status": 200, "request_id": "uuid-like-string"}
A → {"action":"retrieve","pk":1,"request_id":24,"extra":"ignored"}   # extra keys are ignored
A ← {"errors": [], "data": {"pk": 1, "name": "alpha2", "counter": 3}, "action": "retrieve", "response_status": 200, "request_id": 24}
A → {"action":"LIST","request_id":25}   # action names are case-sensitive
A ← {"errors": ["Method \"LIST\" not allowed."], "data": null, "action": "LIST", "response_status": 405, "request_id": 25}
`,
  },
  {
    title: 'users: anonymous (IsAuthenticated: connect allowed, every action 403)',
    transcript: `U0 ⇢ CONNECT /ws/users/
U0 ⇠ OPEN (101)
U0 → {"action":"list","request_id":1}
U0 ← {"errors": ["You do not have permission to perform this action."], "data": null, "action": "list", "response_status": 403, "request_id": 1}
U0 → {"action":"retrieve","pk":1,"request_id":2}
U0 ← {"errors": ["You do not have permission to perform this action."], "data": null, "action": "retrieve", "response_status": 403, "request_id": 2}
U0 → {"action":"me","request_id":3}
U0 ← {"errors": ["You do not have permission to perform this action."], "data": null, "action": "me", "response_status": 403, "request_id": 3}
U0 → {"action":"nope","request_id":4}
U0 ← {"errors": ["You do not have permission to perform this action."], "data": null, "action": "nope", "response_status": 403, "request_id": 4}
U0 → {"request_id":9}   # missing action
U0 ← {"errors": ["Unable to find action in message body."], "data": null, "action": null, "response_status": 405, "request_id": 9}
U0 ✕ CLOSED code=1000
`,
  },
  {
    title: 'users: with a token (U: alice via Authorization header)',
    transcript: String.raw`U ⇢ CONNECT /ws/users/ headers={"Authorization":"Bearer <alice-token>"}
U ⇠ OPEN (101)
U → {"action":"list","request_id":1}   # default limit 2
U ← {"errors": [], "data": {"count": 3, "results": [{"id": 1, "username": "alice", "email": "alice@example.com"}, {"id": 2, "username": "bob", "email": "bob@example.com"}], "limit": 2, "offset": 0}, "action": "list", "response_status": 200, "request_id": 1}
U → {"action":"list","limit":1,"offset":1,"request_id":2}
U ← {"errors": [], "data": {"count": 3, "results": [{"id": 2, "username": "bob", "email": "bob@example.com"}], "limit": 1, "offset": 1}, "action": "list", "response_status": 200, "request_id": 2}
U → {"action":"list","limit":1000,"request_id":3}   # max_limit 100
U ← {"errors": [], "data": {"count": 3, "results": [{"id": 1, "username": "alice", "email": "alice@example.com"}, {"id": 2, "username": "bob", "email": "bob@example.com"}, {"id": 3, "username": "carol", "email": "carol@example.com"}], "limit": 100, "offset": 0}, "action": "list", "response_status": 200, "request_id": 3}
U → {"action":"list","limit":0,"offset":-4,"request_id":4}   # bad limit/offset fall back
U ← {"errors": [], "data": {"count": 3, "results": [{"id": 1, "username": "alice", "email": "alice@example.com"}, {"id": 2, "username": "bob", "email": "bob@example.com"}], "limit": 2, "offset": 0}, "action": "list", "response_status": 200, "request_id": 4}
U → {"action":"list","offset":50,"request_id":5}   # offset past the end
U ← {"errors": [], "data": {"count": 3, "results": [], "limit": 2, "offset": 50}, "action": "list", "response_status": 200, "request_id": 5}
U → {"action":"retrieve","pk":1,"request_id":6}
U ← {"errors": [], "data": {"id": 1, "username": "alice", "email": "alice@example.com"}, "action": "retrieve", "response_status": 200, "request_id": 6}
U → {"action":"retrieve","pk":9999,"request_id":7}
U ← {"errors": ["Not found"], "data": null, "action": "retrieve", "response_status": 404, "request_id": 7}
U → {"action":"me","request_id":8}
U ← {"errors": [], "data": {"id": 1, "username": "alice", "email": "alice@example.com"}, "action": "me", "response_status": 200, "request_id": 8}
U → {"action":"send_email","pk":1,"to":"x@example.com","request_id":9}
U ← {"errors": [], "data": {}, "action": "send_email", "response_status": 200, "request_id": 9}
U → {"action":"send_email","pk":9999,"to":"x@example.com","request_id":10}
U ← {"errors": ["Not found"], "data": null, "action": "send_email", "response_status": 404, "request_id": 10}
U → {"action":"publish","pk":1,"request_id":11}
U ← {"errors": [], "data": {"pk": 1}, "action": "publish", "response_status": 200, "request_id": 11}
U → {"action":"publish","pk":"whatever","request_id":12}
U ← {"errors": [], "data": {"pk": "whatever"}, "action": "publish", "response_status": 200, "request_id": 12}
U → {"action":"subscribe_instance","pk":1,"request_id":13}
U ← {"errors": [], "data": null, "action": "subscribe_instance", "response_status": 201, "request_id": 13}
(other process) python manage.py shell -c "import demoapp.consumers; from django.contrib.auth.models import User; u=User.objects.get(pk=1); u.email='alice+1@example.com'; u.save()"
U ← {"errors": [], "data": {"id": 1, "username": "alice", "email": "alice+1@example.com"}, "action": "update", "response_status": 200, "request_id": 13}
U → {"action":"unsubscribe_instance","pk":1,"request_id":13}
U ← {"errors": [], "data": null, "action": "unsubscribe_instance", "response_status": 204, "request_id": 13}
(other process) python manage.py shell -c "import demoapp.consumers; from django.contrib.auth.models import User; u=User.objects.get(pk=1); u.email='alice@example.com'; u.save()"
U → {"action":"nope","request_id":14}
U ← {"errors": ["Method \"nope\" not allowed."], "data": null, "action": "nope", "response_status": 405, "request_id": 14}
U ✕ CLOSED code=1000
`,
  },
  {
    title: 'schools: create, retrieve, streamed list pages, list_cancel (S)',
    transcript: `S ⇢ CONNECT /ws/schools/
S ⇠ OPEN (101)
S → {"action":"list","request_id":1}   # empty: one page
S ← {"errors": [], "data": {"count": 0, "results": [], "limit": 10, "offset": 0}, "action": "list", "response_status": 200, "request_id": 1}
S → {"action":"create","data":{"name":"school 1"},"request_id":101}
S → {"action":"create","data":{"name":"school 2"},"request_id":102}
S → {"action":"create","data":{"name":"school 3"},"request_id":103}
S → {"action":"create","data":{"name":"school 4"},"request_id":104}
S → {"action":"create","data":{"name":"school 5"},"request_id":105}
S → {"action":"create","data":{"name":"school 6"},"request_id":106}
S → {"action":"create","data":{"name":"school 7"},"request_id":107}
S → {"action":"create","data":{"name":"school 8"},"request_id":108}
S → {"action":"create","data":{"name":"school 9"},"request_id":109}
S → {"action":"create","data":{"name":"school 10"},"request_id":110}
S → {"action":"create","data":{"name":"school 11"},"request_id":111}
S → {"action":"create","data":{"name":"school 12"},"request_id":112}
S → {"action":"create","data":{"name":"school 13"},"request_id":113}
S → {"action":"create","data":{"name":"school 14"},"request_id":114}
S → {"action":"create","data":{"name":"school 15"},"request_id":115}
S → {"action":"create","data":{"name":"school 16"},"request_id":116}
S → {"action":"create","data":{"name":"school 17"},"request_id":117}
S → {"action":"create","data":{"name":"school 18"},"request_id":118}
S → {"action":"create","data":{"name":"school 19"},"request_id":119}
S → {"action":"create","data":{"name":"school 20"},"request_id":120}
S → {"action":"create","data":{"name":"school 21"},"request_id":121}
S → {"action":"create","data":{"name":"school 22"},"request_id":122}
S → {"action":"create","data":{"name":"school 23"},"request_id":123}
S ← {"errors": [], "data": {"id": 1, "name": "school 1"}, "action": "create", "response_status": 201, "request_id": 101}
S ← {"errors": [], "data": {"id": 2, "name": "school 2"}, "action": "create", "response_status": 201, "request_id": 102}
S ← {"errors": [], "data": {"id": 3, "name": "school 3"}, "action": "create", "response_status": 201, "request_id": 103}
S ← {"errors": [], "data": {"id": 4, "name": "school 4"}, "action": "create", "response_status": 201, "request_id": 104}
S ← {"errors": [], "data": {"id": 5, "name": "school 5"}, "action": "create", "response_status": 201, "request_id": 105}
S ← {"errors": [], "data": {"id": 6, "name": "school 6"}, "action": "create", "response_status": 201, "request_id": 106}
S ← {"errors": [], "data": {"id": 7, "name": "school 7"}, "action": "create", "response_status": 201, "request_id": 107}
S ← {"errors": [], "data": {"id": 8, "name": "school 8"}, "action": "create", "response_status": 201, "request_id": 108}
S ← {"errors": [], "data": {"id": 9, "name": "school 9"}, "action": "create", "response_status": 201, "request_id": 109}
S ← {"errors": [], "data": {"id": 10, "name": "school 10"}, "action": "create", "response_status": 201, "request_id": 110}
S ← {"errors": [], "data": {"id": 11, "name": "school 11"}, "action": "create", "response_status": 201, "request_id": 111}
S ← {"errors": [], "data": {"id": 12, "name": "school 12"}, "action": "create", "response_status": 201, "request_id": 112}
S ← {"errors": [], "data": {"id": 13, "name": "school 13"}, "action": "create", "response_status": 201, "request_id": 113}
S ← {"errors": [], "data": {"id": 14, "name": "school 14"}, "action": "create", "response_status": 201, "request_id": 114}
S ← {"errors": [], "data": {"id": 15, "name": "school 15"}, "action": "create", "response_status": 201, "request_id": 115}
S ← {"errors": [], "data": {"id": 16, "name": "school 16"}, "action": "create", "response_status": 201, "request_id": 116}
S ← {"errors": [], "data": {"id": 17, "name": "school 17"}, "action": "create", "response_status": 201, "request_id": 117}
S ← {"errors": [], "data": {"id": 18, "name": "school 18"}, "action": "create", "response_status": 201, "request_id": 118}
S ← {"errors": [], "data": {"id": 19, "name": "school 19"}, "action": "create", "response_status": 201, "request_id": 119}
S ← {"errors": [], "data": {"id": 20, "name": "school 20"}, "action": "create", "response_status": 201, "request_id": 120}
S ← {"errors": [], "data": {"id": 21, "name": "school 21"}, "action": "create", "response_status": 201, "request_id": 121}
S ← {"errors": [], "data": {"id": 22, "name": "school 22"}, "action": "create", "response_status": 201, "request_id": 122}
S ← {"errors": [], "data": {"id": 23, "name": "school 23"}, "action": "create", "response_status": 201, "request_id": 123}
S → {"action":"create","data":{},"request_id":2}
S ← {"errors": [{"name": ["This field is required."]}], "data": null, "action": "create", "response_status": 400, "request_id": 2}
S → {"action":"retrieve","pk":1,"request_id":3}
S ← {"errors": [], "data": {"id": 1, "name": "school 1"}, "action": "retrieve", "response_status": 200, "request_id": 3}
S → {"action":"retrieve","pk":9999,"request_id":4}
S ← {"errors": ["Not found"], "data": null, "action": "retrieve", "response_status": 404, "request_id": 4}
S → {"action":"list","request_id":5}   # default limit 10: pages at offset 0, 10, 20
S ← {"errors": [], "data": {"count": 23, "results": [{"id": 1, "name": "school 1"}, {"id": 2, "name": "school 2"}, {"id": 3, "name": "school 3"}, {"id": 4, "name": "school 4"}, {"id": 5, "name": "school 5"}, {"id": 6, "name": "school 6"}, {"id": 7, "name": "school 7"}, {"id": 8, "name": "school 8"}, {"id": 9, "name": "school 9"}, {"id": 10, "name": "school 10"}], "limit": 10, "offset": 0}, "action": "list", "response_status": 200, "request_id": 5}
S ← {"errors": [], "data": {"count": 23, "results": [{"id": 11, "name": "school 11"}, {"id": 12, "name": "school 12"}, {"id": 13, "name": "school 13"}, {"id": 14, "name": "school 14"}, {"id": 15, "name": "school 15"}, {"id": 16, "name": "school 16"}, {"id": 17, "name": "school 17"}, {"id": 18, "name": "school 18"}, {"id": 19, "name": "school 19"}, {"id": 20, "name": "school 20"}], "limit": 10, "offset": 10}, "action": "list", "response_status": 200, "request_id": 5}
S ← {"errors": [], "data": {"count": 23, "results": [{"id": 21, "name": "school 21"}, {"id": 22, "name": "school 22"}, {"id": 23, "name": "school 23"}], "limit": 10, "offset": 20}, "action": "list", "response_status": 200, "request_id": 5}
S → {"action":"list","limit":5,"offset":12,"request_id":6}   # from offset 12 to the end
S ← {"errors": [], "data": {"count": 23, "results": [{"id": 13, "name": "school 13"}, {"id": 14, "name": "school 14"}, {"id": 15, "name": "school 15"}, {"id": 16, "name": "school 16"}, {"id": 17, "name": "school 17"}], "limit": 5, "offset": 12}, "action": "list", "response_status": 200, "request_id": 6}
S ← {"errors": [], "data": {"count": 23, "results": [{"id": 18, "name": "school 18"}, {"id": 19, "name": "school 19"}, {"id": 20, "name": "school 20"}, {"id": 21, "name": "school 21"}, {"id": 22, "name": "school 22"}], "limit": 5, "offset": 17}, "action": "list", "response_status": 200, "request_id": 6}
S ← {"errors": [], "data": {"count": 23, "results": [{"id": 23, "name": "school 23"}], "limit": 5, "offset": 22}, "action": "list", "response_status": 200, "request_id": 6}
`,
  },
  {
    title: 'hello: a DRF APIView through view_as_consumer (V)',
    transcript: String.raw`V ⇢ CONNECT /ws/hello/
V ⇠ OPEN (101)
V → {"action":"retrieve","query":{"name":"x"},"request_id":1}
V ← {"errors": [], "data": {"hello": "x"}, "action": "retrieve", "response_status": 200, "request_id": 1}
V → {"action":"retrieve","request_id":2}
V ← {"errors": [], "data": {"hello": "world"}, "action": "retrieve", "response_status": 200, "request_id": 2}
V → {"action":"list","query":{"name":"y"},"request_id":3}
V ← {"errors": [], "data": {"hello": "y"}, "action": "list", "response_status": 200, "request_id": 3}
V → {"action":"create","data":{"name":"z"},"request_id":4}
V ← {"errors": [], "data": {"hello": "z"}, "action": "create", "response_status": 201, "request_id": 4}
V → {"action":"create","request_id":5}
V ← {"errors": [], "data": {"hello": "world"}, "action": "create", "response_status": 201, "request_id": 5}
V → {"action":"update","data":{"name":"z"},"request_id":6}   # not mapped
V ← {"errors": ["Method \"update\" not allowed."], "data": null, "action": "update", "response_status": 405, "request_id": 6}
V → {"action":"nope","request_id":7}
V ← {"errors": ["Method \"nope\" not allowed."], "data": null, "action": "nope", "response_status": 405, "request_id": 7}
V → {"request_id":8}   # missing action
V ← {"errors": ["Unable to find action in message body."], "data": null, "action": null, "response_status": 405, "request_id": 8}
V ✕ CLOSED code=1000
`,
  },
];
