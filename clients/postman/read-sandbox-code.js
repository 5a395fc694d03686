// Postman test script of "2. Read the code the simulator delivered" (inlined into the collection by
// portman): finds the message of the verification started in step 1 and keeps its code for step 3.
const requestId = pm.collectionVariables.get('requestId');
const message = pm.response.json().messages.find((m) => m.requestId === requestId);
pm.test('the simulator delivered a code for this requestId', () => {
  pm.expect(message, `a message for ${requestId}`).to.be.an('object');
  pm.expect(message.code).to.match(/^[0-9]{4,6}$/);
});
if (message) pm.collectionVariables.set('code', message.code);
