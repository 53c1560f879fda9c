records -1
quantity x
