import t from 'tap';
import { MemoryStore } from '../../src/store/memory';
import { createStore } from '../../src/store';
import { storeContract } from './contract';

t.test('memory store contract', async (t) => {
  storeContract(t, async () => {
    const store = new MemoryStore();
    await store.init();
    return { store, cleanup: () => store.close() };
  });
});

t.test('createStore without a MongoDB URI gives the memory store', async (t) => {
  const store = await createStore({ mongodbDb: 'unused' });
  t.equal(store.kind, 'memory');
  await store.close();
});
