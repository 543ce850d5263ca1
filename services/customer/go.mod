module github.com/kehu-crm/kehu/services/customer

go 1.26.7

require github.com/kehu-crm/kehu/pkg v0.0.0

replace github.com/kehu-crm/kehu/pkg => ../../pkg
