// A runner fixture that fails while loading.
throw new Error("this module is broken on purpose");
