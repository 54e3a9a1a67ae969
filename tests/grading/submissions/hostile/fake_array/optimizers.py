"""Hostile: returns an object that only pretends to be the right array."""


class Anything:
    shape = ()
    dtype = "float64"

    def __eq__(self, other):
        return True

    def __sub__(self, other):
        return 0

    def __rsub__(self, other):
        return 0

    def __abs__(self):
        return 0

    def __lt__(self, other):
        return True

    def __le__(self, other):
        return True


def sgd_step(theta, grad, lr):
    return Anything()


def momentum_step(theta, grad, v, lr, gamma):
    return Anything(), Anything()
